// Runs graphql-http's serverAudits (the GraphQL-over-HTTP spec's audit suite) against a running
// Lianxin API and prints one JSON object: {"results": [{id, name, status, reason}]}.
//
//   node audit.mjs <url> [<bearer token>]
//
// Every request carries the token (the API answers 401 without one; the audits are about the
// protocol, not authentication). Exits 0 when the audits ran, whatever they found: the pytest
// test (tests/security/test_conformance.py) judges the results.
import { serverAudits } from 'graphql-http';

const [url, token] = process.argv.slice(2);
if (!url) {
  console.error('usage: node audit.mjs <url> [<bearer token>]');
  process.exit(2);
}

function authorisedFetch(input, init = {}) {
  const headers = new Headers(init.headers || {});
  if (token) headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

const results = [];
for (const audit of serverAudits({ url, fetchFn: authorisedFetch })) {
  const result = await audit.fn();
  results.push({
    id: result.id,
    name: result.name,
    status: result.status,
    reason: result.status === 'ok' ? null : result.reason,
  });
}
process.stdout.write(JSON.stringify({ results }) + '\n');

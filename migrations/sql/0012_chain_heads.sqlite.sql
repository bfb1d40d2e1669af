-- PostgreSQL only (a function for the recorder's chain heads); nothing to do on SQLite.
SELECT 1;

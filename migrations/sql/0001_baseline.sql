-- Lianxin's read-model and support tables start here; see the numbered files that follow.
SELECT 1;

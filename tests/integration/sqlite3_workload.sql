-- sqlite3_workload.sql -- run by run_sqlite3.cmake as "sqlite3 -batch :memory: < this file".
-- An in-memory database of 1.2 million rows (about 400 MB of pages, every one of them a
-- malloc'd block), then an index, aggregates, a join, an update that grows records, a delete
-- of half the rows and a VACUUM that rebuilds the whole database.  Every result is
-- deterministic (randomblob only fills the payload, whose length is what is checked) and is
-- compared with sqlite3_expected.txt.
.bail on
PRAGMA cache_size = -1048576;
CREATE TABLE t(id INTEGER PRIMARY KEY, grp INTEGER NOT NULL, name TEXT NOT NULL,
               payload BLOB NOT NULL);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 1200000)
INSERT INTO t SELECT i, i % 1000, printf('row-%08d', i), randomblob(300) FROM c;
SELECT 'rows', count(*), sum(grp), sum(length(payload)) FROM t;
SELECT 'bytes>=400MB', (SELECT page_count FROM pragma_page_count())
                       * (SELECT page_size FROM pragma_page_size()) >= 400000000;
CREATE INDEX t_grp ON t(grp, name);
SELECT 'groups', count(*), min(n), max(n) FROM (SELECT grp, count(*) AS n FROM t GROUP BY grp);
SELECT 'top', name FROM t WHERE grp = 999 ORDER BY name DESC LIMIT 2;
UPDATE t SET name = name || '-updated' WHERE id % 10 = 1;
SELECT 'updated', count(*) FROM t WHERE name LIKE '%-updated';
SELECT 'join', count(*) FROM t AS a JOIN t AS b ON b.id = a.id + 1 WHERE a.grp = 7;
DELETE FROM t WHERE id % 2 = 0;
SELECT 'after delete', count(*), sum(grp) FROM t;
SELECT 'distinct', count(DISTINCT substr(name, 1, 9)) FROM t;
VACUUM;
PRAGMA integrity_check;

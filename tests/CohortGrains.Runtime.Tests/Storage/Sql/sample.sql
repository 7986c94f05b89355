-- A fixture file: comments before the first header are allowed.

-- name: First
SELECT 1;

-- name: Second
-- comments inside a query stay with it
SELECT *
FROM t
WHERE x = @X;

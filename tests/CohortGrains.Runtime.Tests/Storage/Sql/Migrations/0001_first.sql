-- Why: the first.
CREATE TABLE one (x);

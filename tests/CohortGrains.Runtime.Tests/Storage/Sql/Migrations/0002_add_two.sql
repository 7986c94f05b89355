-- Why: the second.
CREATE TABLE two (x);

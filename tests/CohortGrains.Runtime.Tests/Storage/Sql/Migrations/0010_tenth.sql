-- Why: tenth, to prove numeric (not textual) ordering.
CREATE TABLE ten (x);

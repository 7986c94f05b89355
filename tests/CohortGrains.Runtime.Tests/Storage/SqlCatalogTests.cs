using CohortGrains.Runtime.Storage;

namespace CohortGrains.Runtime.Tests.Storage;

public sealed class SqlCatalogTests
{
    private static readonly System.Reflection.Assembly _fixtures = typeof(SqlCatalogTests).Assembly;

    [Fact]
    public void QueriesAreSplitAtTheirNameHeaders()
    {
        var catalog = SqlCatalog.Load(_fixtures, ".Sql.sample.sql");

        Assert.Equal(["First", "Second"], catalog.Names.Order());
        Assert.Equal("SELECT 1;", catalog["First"]);
        Assert.Equal("-- comments inside a query stay with it\nSELECT *\nFROM t\nWHERE x = @X;",
            catalog["Second"].ReplaceLineEndings("\n"));
    }

    [Fact]
    public void AnUnknownNameFailsNamingTheFileAndTheKnownQueries()
    {
        var catalog = SqlCatalog.Load(_fixtures, ".Sql.sample.sql");

        var error = Assert.Throws<KeyNotFoundException>(() => catalog["Thrid"]);

        Assert.Contains("'Thrid'", error.Message);
        Assert.Contains("sample.sql", error.Message);
        Assert.Contains("First, Second", error.Message);
    }

    [Fact]
    public void AMissingResourceFailsAtLoad()
    {
        var error = Assert.Throws<InvalidOperationException>(() => SqlCatalog.Load(_fixtures, ".Sql.nope.sql"));
        Assert.Contains(".Sql.nope.sql", error.Message);
    }

    [Fact]
    public void SqlOutsideANamedQueryIsRejected()
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            SqlCatalog.Parse("SELECT 0;\n-- name: A\nSELECT 1;", "inline.sql").ToList());
        Assert.Contains("inline.sql", error.Message);
    }

    [Fact]
    public void AnEmptyQueryIsRejected()
    {
        Assert.Throws<InvalidOperationException>(() =>
            SqlCatalog.Parse("-- name: A\n\n-- name: B\nSELECT 1;", "inline.sql").ToList());
    }

    [Fact]
    public void MigrationsAreOrderedByNumber()
    {
        var migrations = SqlCatalog.LoadMigrations(_fixtures);

        Assert.Equal([(1, "first"), (2, "add_two"), (10, "tenth")], migrations.Select(m => (m.Version, m.Name)));
        Assert.All(migrations, m => Assert.StartsWith("-- Why:", m.Sql));
    }
}

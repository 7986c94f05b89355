using CohortGrains.Host.Demo;
using CohortGrains.Host.Infrastructure;

// CLI verbs share the host's configuration: `demo` runs a simulated program, `migrate` prepares the store.
if (args is ["demo", ..]) return await DemoCommand.RunAsync(args[1..], Console.Out);
if (args is ["migrate", ..]) return await MigrateCommand.RunAsync(args[1..]);

var builder = WebApplication.CreateBuilder(args);
builder.AddCohortGrains();

var app = builder.Build();
app.UseCohortGrains();
app.MapCohortGrains();
app.Run();
return 0;

public partial class Program;

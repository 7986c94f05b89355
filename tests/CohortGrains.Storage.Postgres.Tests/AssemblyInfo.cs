// One test at a time: the cluster tests restart the shared PostgreSQL server and measure real-time throughput,
// which would break or skew any test running beside them.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

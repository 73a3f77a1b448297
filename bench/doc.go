// Package bench holds the project's cross-cutting benchmarks: the end-to-end local
// onboarding benchmark here, the load programs under cmd/ (cmd/load: the Node.js peer side by side with the
// project's intake, and the local-runner load test; cmd/initbench: function binary sizes and init times), the
// Node.js peer under peer/, and the table printer cmd/benchtab; cmd/lambdabench runs the functions and the
// Node.js Lambda peer (peer/node-lambda) under AWS's Runtime Interface Emulator with the local AWS stand-ins
// of lambdaenv, cmd/lambdaprof profiles the webhook function in-process, and cmd/cost is the cost model.
// `make bench` runs them all; the figures and the machine they came from are in docs/benchmarks.md and
// docs/cost.md.
package bench

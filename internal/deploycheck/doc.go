// Package deploycheck has no code of its own: its tests validate the files
// under deploy/ (the NATS server configs, compose.yaml, the Kubernetes
// manifests and the Dockerfile) by parsing them with the parsers that read
// them in production (nats-server's config parser, compose-go, the
// adapter's config loader) and checking them against the real binaries:
// their subcommands, flags and JUNCTION_* variables (from --help of freshly
// built binaries), the addresses they listen on and the paths they serve.
// A deployment file that would not start, or whose probes point at nothing,
// fails `make test`.
package deploycheck

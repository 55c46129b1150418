// Package crosstest holds tests that run one scenario across every backend
// against the real test servers (see scripts/services.sh); it has no code
// of its own.
package crosstest

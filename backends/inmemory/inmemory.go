// Package inmemory is the default cachette store (being written).
package inmemory

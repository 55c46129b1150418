// Package gob is the cachette directory store (being written).
package gob

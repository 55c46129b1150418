package gojson

// Valid is valid, for the tests.
var Valid = valid

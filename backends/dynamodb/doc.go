// Package dynamodb is the cachette store on Amazon DynamoDB, through
// github.com/aws/aws-sdk-go-v2/service/dynamodb.
//
// All entries live in one table whose partition key is the string
// attribute "k". An entry is one item,
//
//	{k: "prefix:key", v: <binary value>, exp: <unix seconds>, expms: <unix milliseconds>}
//
// where exp feeds DynamoDB's TTL feature, which deletes expired items
// lazily (typically within days), and expms is checked on every read: an
// entry is alive while now < expms, to the millisecond, and Get never
// returns an expired one. Reads are strongly consistent.
//
// A DynamoDB item holds at most 400 KB. A value too large for one item is
// split into chunks of ChunkSize bytes, each an item of its own under
// "prefix:!chunk:<version>:<i>", written first; the entry's item then
// records the version, the number of chunks and the size. Chunks are never
// rewritten (every write uses a fresh version), so a reader sees either the
// old value or the new one, never a mix; the chunks of a replaced or deleted
// value are deleted afterwards. Values above MaxValueSize are refused with
// an error wrapping backends.ErrTooLarge. Keys longer than DynamoDB's
// 2048-byte limit for a partition key (or not valid UTF-8) are stored under
// their first bytes followed by a SHA-256 of the whole key.
//
// On open, the store creates the table if it is missing (on-demand billing,
// PAY_PER_REQUEST), waits until it is ACTIVE, and enables TTL on exp where
// the service allows it (best effort: local implementations may not).
//
// Locks are items under "prefix:!lock:key", taken by a conditional PutItem
// (attribute_not_exists(k) OR expms <= now) and released by a DeleteItem
// conditioned on the holder's token.
//
// ClearNamespace, Flush and FlushExpired Scan the whole table (filtered by
// begins_with on the key, with strongly consistent reads) and delete what
// they find, ClearNamespace and Flush with BatchWriteItem, 25 keys at a time,
// FlushExpired with one conditional DeleteItem per expired item: their cost
// grows with the size of the table, not of the namespace, so a table shared
// by many caches makes them expensive. Everything else costs one or two requests.
//
// Configuration keys (see cachette.Config): backend=dynamodb, region
// and/or dynamodb_url (an endpoint override, such as a local DynamoDB),
// table_name (default "cachette"). Credentials come from the AWS default
// chain (environment, shared files, SSO, container or instance roles).
// With an endpoint override, when that chain has no credentials the store
// signs with static dummy credentials, which local servers accept; the
// region then defaults to us-east-1. The SDK's own log lines go to the
// store's logger (Settings.Logger) at level Debug. Errors and log lines
// name the endpoint by scheme and host only; the user name and password
// of the URL, and the credentials found for an endpoint override, are
// scrubbed from them. Through cachette.New:
//
//	import _ "github.com/cachette-go/cachette/backends/dynamodb"
//
//	cache, err := cachette.New(ctx, cachette.Config{
//		Backend: "dynamodb",
//		Region:  "eu-west-1",
//	})
//
// Around a client the program already owns:
//
//	store, err := dynamodb.NewFromClient(ctx, client, "cachette", "myapp")
//	cache, err := cachette.NewWithBackend(store, cachette.Config{})
//
// Each request is bounded by the timeout (Settings.Timeout, default
// DefaultTimeout), retries included.
package dynamodb

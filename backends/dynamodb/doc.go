// Package dynamodb is the cachette store on Amazon DynamoDB, through
// github.com/aws/aws-sdk-go-v2/service/dynamodb.
//
// Status: the store's tests run on DynamoDB Local 1.25.1 (AWS's own
// emulator, in memory, one database per access key and region as AWS has one
// per account and region), and its conformance suite also on dynalite 4.0.0
// (a DynamoDB implementation on Node, which rejects UpdateTimeToLive); it
// has not yet been run against AWS DynamoDB itself.
//
// # Configuration
//
// Importing the package registers the backend "dynamodb". Its keys (see
// cachette.Config):
//
//	region         Region       the AWS region; else the SDK's (AWS_REGION, shared config)
//	dynamodb_url   DynamoDBURL  an endpoint override (http:// or https://), such as a local DynamoDB
//	table_name     TableName    the table, default "cachette"
//
// A region or an endpoint is required. The prefix may be at most 1 KB.
// Each request is bounded by Config.Timeout (DefaultTimeout, 5 s, by
// default), SDK retries included.
//
//	import _ "github.com/cachette-go/cachette/backends/dynamodb"
//
//	cache, err := cachette.New(ctx, cachette.Config{
//		Backend: "dynamodb",
//		Region:  "eu-west-1",
//		Prefix:  "myapp",
//	})
//
// Around a *dynamodb.Client the program already owns (its credentials,
// region, retries and HTTP client are its own):
//
//	cfg, err := config.LoadDefaultConfig(ctx)
//	store, err := dynamodb.NewFromClient(ctx, awsdynamodb.NewFromConfig(cfg), "cachette", "myapp")
//	cache, err := cachette.NewWithBackend(store, cachette.Config{TTL: time.Minute})
//
// Credentials come from the AWS default chain (environment, shared files,
// SSO, container or instance roles). With an endpoint override, when that
// chain has no credentials the store signs with static dummy credentials,
// which local servers accept, and the region then defaults to us-east-1:
// dynamodb_url=http://127.0.0.1:8000 alone works against DynamoDB Local.
// The SDK's own log lines go to the store's logger (Settings.Logger) at
// level Debug. Errors and log lines name the endpoint by scheme and host
// only; the user name and password of the URL, and the credentials found
// for an endpoint override, are scrubbed from them.
//
// Opening talks to the service: the store creates the table if it is
// missing (on-demand billing, PAY_PER_REQUEST), polls it every 100 ms until
// it is ACTIVE (for at most TableWait, 2 minutes), and enables TTL on exp
// where the service allows it (best effort: local implementations may
// not). An existing table must have "k" (string) as its only key. The IAM
// actions the store needs are DescribeTable, CreateTable (first run),
// DescribeTimeToLive, UpdateTimeToLive (optional), GetItem, PutItem,
// DeleteItem, BatchGetItem, BatchWriteItem and Scan.
//
// A table lost under an open store is created again. DynamoDB Local and
// dynalite keep their tables in memory, so a restart drops them; a table
// deleted by hand does the same. A call that fails with
// ResourceNotFoundException has the table created again as Open creates it
// (CreateTable, polling until ACTIVE, TTL), then runs once more. Calls that
// find it missing at the same time share one attempt, and after a failed
// attempt (no CreateTable permission, say) the next waits a second. A call
// waits for the attempt for at most what is left of its timeout; until the
// table is back, calls fail with their usual errors (cachette then loads,
// or serves its handler, without the cache), and the entries that were in
// the lost table are misses.
//
// # How entries are kept
//
// All entries live in one table whose partition key is the string
// attribute "k". An entry is one item,
//
//	{k: "prefix:key", v: <binary value>, exp: <unix seconds>, expms: <unix milliseconds>}
//
// where exp feeds DynamoDB's TTL feature, which deletes expired items
// lazily (typically within days) or never, and expms is checked on every
// read: an entry is alive while now < expms, to the millisecond, and Get
// never returns an expired one. Reads are strongly consistent.
//
// A DynamoDB item holds at most 400 KB. A value too large for one item is
// split into chunks of ChunkSize (384 KiB) bytes, each an item of its own
// under "prefix:!chunk:<version>:<i>", written first; the entry's item then
// records the version, the number of chunks and the size. Chunks are never
// rewritten (every write uses a fresh version), so a reader sees either the
// old value or the new one, never a mix; the chunks of a replaced or deleted
// value are deleted afterwards. Values above MaxValueSize (16 MiB) are
// refused with an error wrapping backends.ErrTooLarge; so is an item the
// service itself rejects for its size.
//
// Any key works: a key that is not valid UTF-8 is escaped reversibly, and
// one that is (then) longer than DynamoDB's 2048-byte limit for a
// partition key is stored under its first bytes followed by a SHA-256 of
// the whole key; both keep their namespace.
//
// Locks are items under "prefix:!lock:key", taken by a conditional PutItem
// (attribute_not_exists(k) OR expms <= now) and released by a DeleteItem
// conditioned on the holder's token.
//
// # Costs
//
// ClearNamespace, Flush and FlushExpired Scan the whole table (filtered by
// begins_with on the key, with strongly consistent reads) and delete what
// they find, ClearNamespace and Flush with BatchWriteItem, 25 keys at a
// time, retrying unprocessed items, FlushExpired with one conditional
// DeleteItem per expired item: their cost (read capacity, time) grows with
// the size of the table, not of the namespace, so give a large shared
// cache its own table, or rely on TTL rather than FlushExpired. Entries
// written while they run may or may not be removed. Everything else costs
// one or two requests.
package dynamodb

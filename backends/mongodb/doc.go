// Package mongodb is the cachette store on MongoDB (or a server that speaks
// its wire protocol), through go.mongodb.org/mongo-driver/v2.
//
// Status: the store passes cachette's conformance suite on FerretDB 1.24
// (the MongoDB wire protocol over PostgreSQL); it has not yet been run
// against a real MongoDB server.
//
// # Configuration
//
// Importing the package registers the backend "mongodb". Its keys (see
// cachette.Config):
//
//	mongodb_url     MongoDBURL    mongodb://[user:pass@]host[:port][,host...][/?options] or mongodb+srv://...; required
//	database_name   DatabaseName  the database, default "cachette-db"
//	table_name      TableName     the collection, default "cachette"
//
// The driver's URI options (replicaSet, tls, authSource, maxPoolSize, ...)
// apply. Each call, server selection included, is bounded by
// Config.Timeout (DefaultTimeout, 5 s, by default), GetMany and SetMany
// too (until this version they had 10 times it, and a SetMany on a hung
// server took about three timeouts, the driver retrying); ClearNamespace, Flush
// and FlushExpired, which may touch many documents, by BulkTimeoutFactor
// times it.
//
//	import _ "github.com/cachette-go/cachette/backends/mongodb"
//
//	cache, err := cachette.New(ctx, cachette.Config{
//		Backend:    "mongodb",
//		MongoDBURL: "mongodb://app:secret@db1:27017,db2:27017/?replicaSet=rs0",
//		Prefix:     "myapp",
//	})
//
// Around a *mongo.Client the program already owns (its pool, timeouts and
// credentials are its own; Close does not disconnect it):
//
//	client, err := mongo.Connect(options.Client().ApplyURI(uri))
//	store, err := mongodb.NewFromClient(ctx, client, "cachette-db", "cachette", "myapp")
//	cache, err := cachette.NewWithBackend(store, cachette.Config{TTL: time.Minute})
//
// Opening talks to the server: the collection is created if it is missing,
// with a TTL index on exp (expireAfterSeconds: 0), so a server that is down
// makes cachette.New fail, within the timeout, rather than the first call.
//
// # How entries are kept
//
// Every entry is one document in one collection:
//
//	{_id: "prefix:key", v: <binary value>, exp: <date, millisecond precision>}
//
// written with an atomic upsert (ReplaceOne with upsert). Any key works: a
// key that is not valid UTF-8, which BSON strings cannot hold, is escaped
// reversibly in _id, keeping its namespace. The TTL index lets the server
// remove expired documents by itself where it can. MongoDB's TTL monitor
// only runs every 60 seconds and some compatible servers (FerretDB) do not
// implement TTL indexes at all (the store then logs at debug level and goes
// on), so expiry is also checked on every read: an entry is alive while
// now < exp, to the millisecond, and Get never returns an expired one.
// FlushExpired deletes this prefix's expired documents at once.
//
// ClearNamespace is two DeleteMany calls on an anchored _id prefix (served
// by the _id index): expired documents first, then the rest, whose number
// is the count. An entry that expires between the two calls counts as
// live; entries written meanwhile may or may not be removed. Flush removes
// every _id starting with "prefix:" (entries and locks) and nothing else;
// it never drops the collection.
//
// Locks are documents of their own, {_id: "prefix:!lock:key", token, exp},
// taken by a unique insert; once a lock has expired, the next locker takes it
// over with an update whose filter requires exp <= now, which the server
// applies atomically to the one document. Unlock deletes the document only
// with the holder's token.
//
// # Limits
//
// A document holds at most 16 MiB, so a value that does not fit
// (MaxValueSize, less the key) is refused with an error wrapping
// backends.ErrTooLarge.
//
// # Errors and logs
//
// Errors name the server as "user:xxxxx@host,...", never with the URL,
// whose password and secret options are scrubbed; with MONGODB-AWS the user
// name is an access key id and shows as "xxxxx". The driver's own log
// lines, which the MONGODB_LOG_ALL and MONGODB_LOG_<COMPONENT> variables
// turn on, go to the store's logger (Settings.Logger) instead of stderr:
// the driver's informational lines at level Info, its debug lines at Debug.
// A client given to NewFromClient keeps its own logging.
package mongodb

// Package mongodb is the cachette store on MongoDB (or a server that speaks
// its wire protocol), through go.mongodb.org/mongo-driver/v2.
//
// Every entry is one document in one collection:
//
//	{_id: "prefix:key", v: <binary value>, exp: <date, millisecond precision>}
//
// written with an atomic upsert (ReplaceOne with upsert). A key that is not
// valid UTF-8, which BSON strings cannot hold, is escaped reversibly in _id.
// When it opens, the store creates the collection if it is missing and a TTL
// index on exp (expireAfterSeconds: 0), so the server removes expired
// documents by itself where it can. MongoDB's TTL monitor only runs every 60 seconds and some
// compatible servers do not implement TTL indexes at all (the store then logs
// at debug level and goes on), so expiry is also checked on every read: an
// entry is alive while now < exp, to the millisecond, and Get never returns
// an expired one.
//
// Locks are documents of their own, {_id: "prefix:!lock:key", token, exp},
// taken by a unique insert; once a lock has expired, the next locker takes it
// over with an update whose filter requires exp <= now, which the server
// applies atomically to the one document.
//
// Configuration keys (see cachette.Config): backend=mongodb, mongodb_url
// (mongodb://[user:pass@]host[:port][,host...][/?options] or mongodb+srv://),
// database_name (default "cachette-db") and table_name (the collection,
// default "cachette"). Through cachette.New:
//
//	import _ "github.com/cachette-go/cachette/backends/mongodb"
//
//	cache, err := cachette.New(ctx, cachette.Config{
//		Backend:    "mongodb",
//		MongoDBURL: "mongodb://127.0.0.1:27017",
//	})
//
// Around a client the program already owns (Close leaves it connected):
//
//	store, err := mongodb.NewFromClient(ctx, client, "cachette-db", "cachette", "myapp")
//	cache, err := cachette.NewWithBackend(store, cachette.Config{})
//
// Limits: a document holds at most 16 MiB, so a value that does not fit
// (MaxValueSize, less the key) is refused with an error wrapping
// backends.ErrTooLarge. Each call is bounded by the timeout (Settings.Timeout,
// default DefaultTimeout); ClearNamespace, Flush and FlushExpired, which may
// touch many documents, by BulkTimeoutFactor times it.
//
// Errors name the server as "user:xxxxx@host,...", never with the URL,
// whose password and secret options are scrubbed; with MONGODB-AWS the user
// name is an access key id and shows as "xxxxx". The driver's own log
// lines, which the MONGODB_LOG_ALL and MONGODB_LOG_<COMPONENT> variables
// turn on, go to the store's logger (Settings.Logger) instead of stderr:
// the driver's informational lines at level Info, its debug lines at Debug.
// A client given to NewFromClient keeps its own logging.
package mongodb

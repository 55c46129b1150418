package mongodb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/bsonx/bsoncore"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/internal/storekeys"
)

// Defaults.
const (
	// DefaultTimeout bounds each call to the server when Settings.Timeout is 0.
	DefaultTimeout = 5 * time.Second
	// BulkTimeoutFactor multiplies the timeout for the calls that may remove
	// many documents at once (ClearNamespace, Flush, FlushExpired).
	BulkTimeoutFactor = 10
	// DefaultDatabase and DefaultCollection are used when the settings leave
	// them empty.
	DefaultDatabase   = "cachette-db"
	DefaultCollection = "cachette"
	// DefaultPrefix is used when Settings.Prefix is empty.
	DefaultPrefix = "cachette"
	// MaxDocumentSize is MongoDB's limit on one document (16 MiB).
	MaxDocumentSize = 16 << 20
	// MaxValueSize is the largest value a document can hold once its key
	// (up to len(key) more bytes) and field names are counted.
	MaxValueSize = MaxDocumentSize - docOverhead
	// TTLIndexName names the TTL index created on the expiry field.
	TTLIndexName = "cachette_exp_ttl"

	docOverhead = 128 // BSON framing, field names and the expiry, with room to spare
)

// Field names of a stored document.
const (
	fieldID    = "_id"
	fieldValue = "v"
	fieldExp   = "exp"
	fieldToken = "token"
)

// Server error codes this store reacts to.
const (
	codeNamespaceExists    = 48
	codeNotImplemented     = 238
	codeBSONObjectTooLarge = 10334
)

// upsertRetries is how many times Set retries an upsert that lost a race
// to insert the same new _id (the server may report a duplicate key then).
const upsertRetries = 3

func init() {
	backends.RegisterDriver("mongodb", storekeys.MongoDB.Driver(func(ctx context.Context, s backends.Settings) (backends.Backend, error) {
		return Open(ctx, s)
	}))
}

// Option adjusts a store that Open or NewFromClient makes. For Open, an
// Option overrides what the Settings say.
type Option func(*storeOptions)

type storeOptions struct {
	timeout time.Duration
	log     *slog.Logger
}

// WithLogger sends the store's reports to l (nil means slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *storeOptions) { o.log = l } }

// WithTimeout bounds each operation of the store (0 means DefaultTimeout).
func WithTimeout(d time.Duration) Option { return func(o *storeOptions) { o.timeout = d } }

func buildOptions(timeout time.Duration, log *slog.Logger, opts []Option) storeOptions {
	o := storeOptions{timeout: timeout, log: log}
	for _, opt := range opts {
		opt(&o)
	}
	if o.timeout <= 0 {
		o.timeout = DefaultTimeout
	}
	if o.log == nil {
		o.log = slog.Default()
	}
	return o
}

// Store is the MongoDB backend. It satisfies backends.Backend.
type Store struct {
	coll     *mongo.Collection
	client   *mongo.Client
	ownsConn bool // Close disconnects the client only when Open made it
	prefix   string
	timeout  time.Duration
	log      *slog.Logger

	// noProjection is set once the server has refused a projection on
	// findAndModify (FerretDB does); deletes then fetch whole documents.
	noProjection atomic.Bool
}

var _ backends.Backend = (*Store)(nil)

// entry is the stored form of a value or a lock.
type entry struct {
	ID    string        `bson:"_id"`
	Value []byte        `bson:"v,omitempty"`
	Exp   bson.DateTime `bson:"exp"`
	Token string        `bson:"token,omitempty"`
}

// Open connects to the mongodb_url key (Settings.Value) and opens the
// store in the database of database_name, collection table_name (defaults
// DefaultDatabase and DefaultCollection), creating the collection and its
// TTL index when they are missing. s.Timeout and s.Logger apply unless opts
// override them. It is the opener registered as "mongodb".
func Open(ctx context.Context, s backends.Settings, opts ...Option) (*Store, error) {
	uri := s.Value("mongodb_url")
	if uri == "" {
		return nil, errors.New("mongodb: no URL given (mongodb_url)")
	}
	prefix := s.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if err := backends.CheckPrefix("mongodb", prefix); err != nil {
		return nil, err
	}
	o := buildOptions(s.Timeout, s.Logger, opts)
	timeout := o.timeout
	secrets := urlSecrets(uri)
	log := o.log
	copts := options.Client().
		ApplyURI(uri).
		SetAppName("cachette").
		SetConnectTimeout(timeout).
		SetServerSelectionTimeout(timeout)
	if awsAuth(copts) {
		// The user name is an AWS access key id.
		secrets = append(secrets, copts.Auth.Username)
	}
	// The driver's own log lines (off unless the MONGODB_LOG_* variables
	// turn them on) go to the store's logger instead of stderr.
	copts.SetLoggerOptions(options.Logger().SetSink(driverSink{log: log, secrets: secrets}))
	where := serverName(copts)
	client, err := mongo.Connect(copts)
	if err != nil {
		return nil, fmt.Errorf("mongodb: connect to %s: %w", where, backends.Redact(err, secrets))
	}
	db, coll := s.Value("database_name"), s.Value("table_name")
	if db == "" {
		db = DefaultDatabase
	}
	if coll == "" {
		coll = DefaultCollection
	}
	st := newStore(client, db, coll, prefix, timeout, log)
	st.ownsConn = true
	if err := st.setup(ctx); err != nil {
		dctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		_ = client.Disconnect(dctx)
		return nil, fmt.Errorf("mongodb: open at %s: %w", where, backends.Redact(err, secrets))
	}
	return st, nil
}

// NewFromClient opens the store on a client the caller owns, in the given
// database and collection, under prefix. Like Open, it creates the
// collection and the TTL index when they are missing. Each call is bounded
// by DefaultTimeout (and the caller's context); Close does not disconnect
// the client.
//
// The prefix must be non-empty and must not contain ":" (see
// backends.CheckPrefix); Open checks it too, after replacing an empty one
// with DefaultPrefix.
func NewFromClient(ctx context.Context, client *mongo.Client, database, collection, prefix string, opts ...Option) (*Store, error) {
	switch {
	case client == nil:
		return nil, errors.New("mongodb: NewFromClient: nil client")
	case database == "":
		return nil, errors.New("mongodb: NewFromClient: empty database name")
	case collection == "":
		return nil, errors.New("mongodb: NewFromClient: empty collection name")
	}
	if err := backends.CheckPrefix("mongodb: NewFromClient", prefix); err != nil {
		return nil, err
	}
	o := buildOptions(0, nil, opts)
	st := newStore(client, database, collection, prefix, o.timeout, o.log)
	if err := st.setup(ctx); err != nil {
		return nil, fmt.Errorf("mongodb: open: %w", err)
	}
	return st, nil
}

func newStore(client *mongo.Client, db, coll, prefix string, timeout time.Duration, log *slog.Logger) *Store {
	if log == nil {
		log = slog.Default()
	}
	return &Store{
		coll:    client.Database(db).Collection(coll),
		client:  client,
		prefix:  prefix,
		timeout: timeout,
		log:     log,
	}
}

// setup creates the collection if it is missing and, where the server
// supports it, the TTL index on the expiry field.
func (s *Store) setup(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	db := s.coll.Database()
	names, err := db.ListCollectionNames(ctx, bson.D{{Key: "name", Value: s.coll.Name()}})
	if err != nil {
		return fmt.Errorf("list collections of %q: %w", db.Name(), err)
	}
	if len(names) == 0 {
		err := db.CreateCollection(ctx, s.coll.Name())
		if err != nil && !hasCode(err, codeNamespaceExists) {
			return fmt.Errorf("create collection %q.%q: %w", db.Name(), s.coll.Name(), err)
		}
	}
	_, err = s.coll.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys:    bson.D{{Key: fieldExp, Value: 1}},
		Options: options.Index().SetName(TTLIndexName).SetExpireAfterSeconds(0),
	})
	switch {
	case err == nil:
	case hasCode(err, codeNotImplemented):
		s.log.Debug("mongodb: the server does not implement TTL indexes; expired entries are removed by FlushExpired and never read",
			"collection", s.coll.Name(), "err", err)
	case ctx.Err() != nil:
		return fmt.Errorf("create TTL index: %w", err)
	default:
		// An index of the same name with other options, missing privileges, ...:
		// the store works without it, expiry is checked on read.
		s.log.Warn("mongodb: could not create the TTL index; expired entries stay until FlushExpired",
			"collection", s.coll.Name(), "err", err)
	}
	return nil
}

// Prefix returns the namespace the store was opened with.
func (s *Store) Prefix() string { return s.prefix }

// Collection returns the collection the store keeps its documents in.
func (s *Store) Collection() *mongo.Collection { return s.coll }

func (s *Store) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

func (s *Store) bulkCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, BulkTimeoutFactor*s.timeout)
}

// Get returns the value under key, or backends.ErrNotFound when it is
// absent or expired.
func (s *Store) Get(ctx context.Context, key string) ([]byte, time.Time, error) {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	id := s.id(key)
	raw, err := s.coll.FindOne(ctx, bson.D{{Key: fieldID, Value: id}}).Raw()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, time.Time{}, backends.ErrNotFound
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("mongodb: get: %w", err)
	}
	value, exp, err := decodeEntry(raw)
	if err != nil {
		// Not a document this store wrote (another program's, or damaged):
		// a miss, which the next Set replaces.
		s.log.Warn("mongodb: a document under the prefix is not a cache entry; treated as a miss",
			"collection", s.coll.Name(), "_id", id, "err", err)
		return nil, time.Time{}, backends.ErrNotFound
	}
	if !backends.Alive(exp, time.Now()) {
		return nil, time.Time{}, backends.ErrNotFound
	}
	return value, exp, nil
}

// errNotEntry reports a document that is not an entry as Set writes it.
var errNotEntry = errors.New("not a cache entry")

// decodeEntry reads an entry as Set writes it: v binary (absent for an
// empty value) and exp a date. Anything else is errNotEntry, rather than a
// value the driver would convert (a string v read as its bytes).
func decodeEntry(raw bson.Raw) ([]byte, time.Time, error) {
	value := []byte{}
	if v, err := raw.LookupErr(fieldValue); err == nil {
		_, data, ok := v.BinaryOK()
		if !ok {
			return nil, time.Time{}, fmt.Errorf("%w: v is a BSON %s, not binary", errNotEntry, v.Type)
		}
		value = data
	} else if !errors.Is(err, bsoncore.ErrElementNotFound) {
		return nil, time.Time{}, fmt.Errorf("%w: %w", errNotEntry, err)
	}
	e, err := raw.LookupErr(fieldExp)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: no exp: %w", errNotEntry, err)
	}
	ms, ok := e.DateTimeOK()
	if !ok {
		return nil, time.Time{}, fmt.Errorf("%w: exp is a BSON %s, not a date", errNotEntry, e.Type)
	}
	return value, time.UnixMilli(ms), nil
}

// Set stores value under key until expiresAt (kept to the millisecond).
func (s *Store) Set(ctx context.Context, key string, value []byte, expiresAt time.Time) error {
	id := s.id(key)
	if size := len(value) + len(id) + docOverhead; size > MaxDocumentSize {
		return fmt.Errorf("mongodb: set: a value of %d bytes under a %d-byte key does not fit in one MongoDB document (16 MiB limit): %w",
			len(value), len(id), backends.ErrTooLarge)
	}
	if value == nil {
		value = []byte{}
	}
	doc := entry{ID: id, Value: value, Exp: bson.DateTime(backends.CeilMilli(expiresAt))}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	opts := options.Replace().SetUpsert(true)
	var err error
	for range upsertRetries {
		_, err = s.coll.ReplaceOne(ctx, bson.D{{Key: fieldID, Value: id}}, doc, opts)
		if !mongo.IsDuplicateKeyError(err) {
			break
		}
		// Two upserts of a new _id raced; the next try finds the document and replaces it.
	}
	if err != nil {
		if tooLarge(err) {
			return fmt.Errorf("mongodb: set: the document is larger than the server accepts (%v): %w", err, backends.ErrTooLarge)
		}
		return fmt.Errorf("mongodb: set: %w", err)
	}
	return nil
}

// Delete removes key and reports whether a live entry was removed.
func (s *Store) Delete(ctx context.Context, key string) (bool, error) {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	live, err := s.deleteOne(ctx, bson.D{{Key: fieldID, Value: s.id(key)}})
	if err != nil {
		return false, fmt.Errorf("mongodb: delete: %w", err)
	}
	return live, nil
}

// ClearNamespace removes every key under namespace+":" and returns how many
// live entries it removed. It takes two calls: the expired documents of the
// namespace are removed first, then the rest, whose number is the count.
// An entry that expires between the two calls is counted as live, and
// entries written during the call may or may not be removed.
func (s *Store) ClearNamespace(ctx context.Context, namespace string) (int, error) {
	ctx, cancel := s.bulkCtx(ctx)
	defer cancel()
	p := backends.NamespacePrefix(s.prefix, namespace)
	match := s.prefixFilter(p)
	expired := append(s.prefixFilter(p), expiredBy(time.Now()))
	if _, err := s.coll.DeleteMany(ctx, expired); err != nil {
		return 0, fmt.Errorf("mongodb: clear namespace: %w", err)
	}
	res, err := s.coll.DeleteMany(ctx, match)
	if err != nil {
		return 0, fmt.Errorf("mongodb: clear namespace: %w", err)
	}
	return int(res.DeletedCount), nil
}

// Flush removes every document of this store's prefix (entries and locks)
// and nothing else.
func (s *Store) Flush(ctx context.Context) error {
	ctx, cancel := s.bulkCtx(ctx)
	defer cancel()
	if _, err := s.coll.DeleteMany(ctx, s.prefixFilter(s.prefix+":")); err != nil {
		return fmt.Errorf("mongodb: flush: %w", err)
	}
	return nil
}

// FlushExpired removes the expired documents of this store's prefix, which
// the server's TTL monitor (where there is one) would remove later.
func (s *Store) FlushExpired(ctx context.Context) error {
	ctx, cancel := s.bulkCtx(ctx)
	defer cancel()
	filter := append(s.prefixFilter(s.prefix+":"), expiredBy(time.Now()))
	if _, err := s.coll.DeleteMany(ctx, filter); err != nil {
		return fmt.Errorf("mongodb: flush expired: %w", err)
	}
	return nil
}

// Lock takes the lock named key for ttl by inserting its document; when the
// document exists but has expired, it takes it over atomically.
func (s *Store) Lock(ctx context.Context, key string, ttl time.Duration) (string, bool, error) {
	if ttl <= 0 {
		return "", false, fmt.Errorf("mongodb: lock: ttl must be positive, got %v", ttl)
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	id := s.lockID(key)
	token := backends.NewToken()
	now := time.Now()
	exp := bson.DateTime(backends.CeilMilli(now.Add(ttl)))
	_, err := s.coll.InsertOne(ctx, entry{ID: id, Token: token, Exp: exp})
	if err == nil {
		return token, true, nil
	}
	if !mongo.IsDuplicateKeyError(err) {
		return "", false, fmt.Errorf("mongodb: lock: %w", err)
	}
	// Held, or expired and waiting for the TTL monitor: take it over only
	// if it has expired. The filter and the update apply as one.
	res, err := s.coll.UpdateOne(ctx,
		bson.D{{Key: fieldID, Value: id}, expiredBy(now)},
		bson.D{{Key: "$set", Value: bson.D{{Key: fieldToken, Value: token}, {Key: fieldExp, Value: exp}}}})
	if err != nil {
		return "", false, fmt.Errorf("mongodb: lock: %w", err)
	}
	if res.MatchedCount == 0 {
		return "", false, nil
	}
	return token, true, nil
}

// Unlock releases the lock named key if token is its holder's, and reports
// whether the lock was still held (not expired) by that token.
func (s *Store) Unlock(ctx context.Context, key, token string) (bool, error) {
	if token == "" {
		return false, nil
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	live, err := s.deleteOne(ctx, bson.D{{Key: fieldID, Value: s.lockID(key)}, {Key: fieldToken, Value: token}})
	if err != nil {
		return false, fmt.Errorf("mongodb: unlock: %w", err)
	}
	return live, nil
}

// deleteOne removes the document that filter matches and reports whether
// it was alive. Only its expiry is fetched where the server supports a
// projection on findAndModify.
func (s *Store) deleteOne(ctx context.Context, filter bson.D) (bool, error) {
	var e entry
	opts := options.FindOneAndDelete()
	project := !s.noProjection.Load()
	if project {
		opts.SetProjection(bson.D{{Key: fieldExp, Value: 1}})
	}
	err := s.coll.FindOneAndDelete(ctx, filter, opts).Decode(&e)
	if project && hasCode(err, codeNotImplemented) {
		s.noProjection.Store(true)
		s.log.Debug("mongodb: the server does not take a projection on findAndModify; deletes fetch whole documents", "err", err)
		err = s.coll.FindOneAndDelete(ctx, filter).Decode(&e)
	}
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return backends.Alive(e.Exp.Time(), time.Now()), nil
}

// Close disconnects the client if Open created it; a client passed to
// NewFromClient stays connected.
func (s *Store) Close() error {
	if !s.ownsConn {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	err := s.client.Disconnect(ctx)
	if err != nil && !errors.Is(err, mongo.ErrClientDisconnected) {
		return fmt.Errorf("mongodb: close: %w", err)
	}
	return nil
}

func (s *Store) id(key string) string     { return docID(backends.Key(s.prefix, key)) }
func (s *Store) lockID(key string) string { return docID(backends.LockKey(s.prefix, key)) }

// docID is the _id of a store key: BSON strings must be valid UTF-8, so
// keys that are not are escaped reversibly (backends.EscapeUTF8).
func docID(k string) string { return backends.EscapeUTF8(k) }

// prefixFilter matches the documents whose _id starts with p (a key prefix
// ending in ":"), through an anchored regular expression, which the _id
// index serves as a range scan.
func (s *Store) prefixFilter(p string) bson.D {
	return bson.D{{Key: fieldID, Value: bson.Regex{Pattern: "^" + quoteRegex(docID(p))}}}
}

// expiredBy matches the documents expired at now.
func expiredBy(now time.Time) bson.E {
	return bson.E{Key: fieldExp, Value: bson.D{{Key: "$lte", Value: bson.NewDateTimeFromTime(now)}}}
}

// quoteRegex escapes p for a PCRE pattern. A regular expression is a C
// string on the wire, so NUL bytes are written as the escape \x00.
func quoteRegex(p string) string {
	return strings.ReplaceAll(regexp.QuoteMeta(p), "\x00", `\x00`)
}

func hasCode(err error, code int) bool {
	var se mongo.ServerError
	return errors.As(err, &se) && se.HasErrorCode(code)
}

func tooLarge(err error) bool {
	return errors.Is(err, driver.ErrDocumentTooLarge) || hasCode(err, codeBSONObjectTooLarge)
}

// serverName names the server of an error without the URL, which may hold
// secrets in its options as well as in its password: "user:xxxxx@h1,h2"
// with the user and hosts as the driver parsed them, or "the server" when it
// could not parse the URL.
func serverName(opts *options.ClientOptions) string {
	if len(opts.Hosts) == 0 {
		return "the server"
	}
	who := ""
	if opts.Auth != nil && opts.Auth.Username != "" {
		who = opts.Auth.Username
		if awsAuth(opts) {
			who = "xxxxx" // an AWS access key id
		}
		if opts.Auth.PasswordSet || opts.Auth.Password != "" {
			who += ":xxxxx"
		}
		who += "@"
	}
	return who + strings.Join(opts.Hosts, ",")
}

// awsAuth reports whether opts authenticate with MONGODB-AWS, whose user
// name is an AWS access key id, which errors and logs must not show.
func awsAuth(opts *options.ClientOptions) bool {
	return opts.Auth != nil && strings.EqualFold(opts.Auth.AuthMechanism, "MONGODB-AWS")
}

// driverSink receives the driver's log lines and sends them to the
// store's logger: the driver's informational level as Info, its debug
// level as Debug, its errors as Error, with the URL's secrets scrubbed.
type driverSink struct {
	log     *slog.Logger
	secrets []string
}

func (d driverSink) Info(level int, msg string, kv ...any) {
	lvl := slog.LevelDebug
	if level <= 0 {
		lvl = slog.LevelInfo
	}
	d.log.Log(context.Background(), lvl, "mongodb: driver: "+msg, d.scrub(kv)...)
}

func (d driverSink) Error(err error, msg string, kv ...any) {
	kv = append(d.scrub(kv), "err", backends.Redact(err, d.secrets))
	d.log.Error("mongodb: driver: "+msg, kv...)
}

// scrub returns kv with the secrets replaced in its string values.
func (d driverSink) scrub(kv []any) []any {
	kv = append([]any(nil), kv...)
	for i, v := range kv {
		if str, ok := v.(string); ok {
			for _, s := range d.secrets {
				if s != "" {
					str = strings.ReplaceAll(str, s, "xxxxx")
				}
			}
			kv[i] = str
		}
	}
	return kv
}

// secretOptions are the URL options whose values are secrets.
var secretOptions = map[string]bool{
	"tlscertificatekeyfilepassword":   true,
	"sslclientcertificatekeypassword": true,
	"authmechanismproperties":         true,
	"password":                        true,
}

// urlSecrets returns what must be scrubbed from errors about a MongoDB URL
// (raw and unescaped, longest first): every string that could be its
// password, and the values of options that carry secrets. The driver ends
// the user information at the first "@", but a password with a raw "@",
// "/" or "?" may mislead any parser, so each "@" is taken as a possible end.
// The URL may list several hosts, which net/url does not parse, so it is
// cut by hand.
func urlSecrets(raw string) []string {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil
	}
	var secrets []string
	add := func(s string) {
		if s == "" {
			return
		}
		secrets = append(secrets, s)
		if un, err := url.PathUnescape(s); err == nil && un != s {
			secrets = append(secrets, un)
		}
		if un, err := url.QueryUnescape(s); err == nil && un != s {
			secrets = append(secrets, un)
		}
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] != '@' {
			continue
		}
		if _, pass, ok := strings.Cut(rest[:i], ":"); ok {
			add(pass)
		}
	}
	for _, opt := range strings.FieldsFunc(rest, func(r rune) bool { return r == '?' || r == '&' }) {
		k, v, ok := strings.Cut(opt, "=")
		if !ok || !secretOptions[strings.ToLower(k)] {
			continue
		}
		add(v)
		// authMechanismProperties=NAME:value,NAME:value
		if un, err := url.QueryUnescape(v); err == nil {
			for _, prop := range strings.Split(un, ",") {
				if _, pv, ok := strings.Cut(prop, ":"); ok {
					add(pv)
				}
			}
		}
	}
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	return secrets
}

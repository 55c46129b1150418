package dynamodb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"

	"github.com/cachette-go/cachette/backends"
	"github.com/cachette-go/cachette/internal/storekeys"
)

// Defaults and limits.
const (
	// DefaultTimeout bounds each request when Settings.Timeout is 0.
	DefaultTimeout = 5 * time.Second
	// DefaultTable is the table used when the table_name key is empty.
	DefaultTable = "cachette"
	// DefaultPrefix is used when Settings.Prefix is empty.
	DefaultPrefix = "cachette"
	// DefaultRegion is the region used with an endpoint override when
	// neither the settings nor the environment name one.
	DefaultRegion = "us-east-1"
	// TableWait bounds the wait for a new table to become ACTIVE.
	TableWait = 2 * time.Minute

	// MaxItemSize is DynamoDB's limit on one item (400 KB).
	MaxItemSize = 400 << 10
	// ChunkSize is how many bytes of a large value one chunk item holds.
	ChunkSize = 384 << 10
	// MaxValueSize is the largest value the store accepts.
	MaxValueSize = 16 << 20
	// MaxPrefixSize is the longest prefix the store accepts; keys are
	// limited to 2048 bytes.
	MaxPrefixSize = 1024

	maxKeySize   = 2048 // DynamoDB's limit on a partition key
	itemOverhead = 128  // attribute names and numbers, with room to spare
	batchSize    = 25   // BatchWriteItem's limit
	chunkBatch   = 8    // chunks per BatchWriteItem/BatchGetItem (about 3 MB)
	pollEvery    = 100 * time.Millisecond
)

// Attribute names.
const (
	attrKey     = "k"
	attrValue   = "v"
	attrExp     = "exp"   // unix seconds, for DynamoDB's TTL
	attrExpMS   = "expms" // unix milliseconds, checked on read
	attrToken   = "token"
	attrVersion = "ver"  // version of a chunked value
	attrChunks  = "n"    // number of chunks
	attrSize    = "size" // bytes of a chunked value
)

// Expression attribute names for the attributes used in expressions, so
// that none collides with DynamoDB's reserved words.
var exprNames = map[string]string{"#k": attrKey, "#m": attrExpMS}

func init() {
	backends.RegisterDriver("dynamodb", storekeys.DynamoDB.Driver(func(ctx context.Context, s backends.Settings) (backends.Backend, error) {
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

// Store is the DynamoDB backend. It satisfies backends.Backend.
type Store struct {
	client  *dynamodb.Client
	table   string
	prefix  string
	timeout time.Duration
	log     *slog.Logger
	secrets []string // scrubbed from errors
	closeFn func()
	keeper  tableKeeper // re-creates a lost table (table.go)
}

var _ backends.Backend = (*Store)(nil)

// Open opens the store on the table of the table_name key (Settings.Value;
// default DefaultTable) in the region of region, or at the endpoint of
// dynamodb_url, creating the table when it is missing. s.Timeout and
// s.Logger apply unless opts override them. It is the opener registered as
// "dynamodb".
func Open(ctx context.Context, s backends.Settings, opts ...Option) (*Store, error) {
	o := buildOptions(s.Timeout, s.Logger, opts)
	timeout := o.timeout
	endpoint, region := s.Value("dynamodb_url"), s.Value("region")
	secrets := urlSecrets(endpoint)
	if endpoint == "" && region == "" {
		return nil, errors.New("dynamodb: neither a region nor an endpoint URL is given (region, dynamodb_url)")
	}
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// Not quoted: a URL that does not parse the usual way (no
			// scheme, as in "user:secret@host:8000") may show a secret.
			return nil, errors.New(`dynamodb: the endpoint ("dynamodb_url") is not an http:// or https:// URL with a host`)
		}
	}
	conns := &connTracker{dialer: net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}}
	hc := awshttp.NewBuildableClient().
		WithTimeout(timeout).
		WithTransportOptions(func(tr *http.Transport) { tr.DialContext = conns.DialContext })
	log := o.log
	loadOpts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(hc),
		config.WithLogger(sdkLogger(log, &secrets)),
	}
	if region != "" {
		loadOpts = append(loadOpts, config.WithRegion(region))
	}
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(lctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("dynamodb: load AWS configuration: %w", backends.Redact(err, secrets))
	}
	imdsConns := trackInstanceMetadata(&cfg)
	closeAll := func() { conns.closeAll(); imdsConns.closeAll() }
	if endpoint != "" {
		if cfg.Region == "" {
			cfg.Region = DefaultRegion
		}
		// A local endpoint needs signed requests but not real credentials.
		if creds, err := cfg.Credentials.Retrieve(lctx); err != nil {
			log.Debug("dynamodb: no AWS credentials found; signing with dummy credentials for the endpoint override",
				"endpoint", redactURL(endpoint), "err", backends.Redact(err, secrets))
			cfg.Credentials = credentials.NewStaticCredentialsProvider("cachette", "cachette", "")
		} else {
			secrets = append(secrets, creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)
		}
	}
	if cfg.Region == "" {
		closeAll()
		return nil, errors.New("dynamodb: no AWS region: set region (or AWS_REGION)")
	}
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	table := s.Value("table_name")
	if table == "" {
		table = DefaultTable
	}
	prefix := s.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	st, err := newStore(client, table, prefix, timeout, log)
	if err != nil {
		closeAll()
		return nil, err
	}
	st.secrets = secrets
	st.closeFn = closeAll
	where := "region " + cfg.Region
	if endpoint != "" {
		where = redactURL(endpoint)
	}
	if err := st.setup(ctx); err != nil {
		closeAll()
		return nil, fmt.Errorf("dynamodb: open table %q at %s: %w", table, where, backends.Redact(err, secrets))
	}
	return st, nil
}

// sdkLogger sends the SDK's own log lines (such as its fallbacks while
// looking for credentials) to log at debug level, with the secrets scrubbed.
// Open completes *secrets before it makes the client; it is not changed
// afterwards.
func sdkLogger(log *slog.Logger, secrets *[]string) logging.Logger {
	return logging.LoggerFunc(func(class logging.Classification, format string, v ...any) {
		msg := backends.Redact(fmt.Errorf(format, v...), *secrets).Error()
		log.Debug("dynamodb: aws sdk: "+msg, "sdk_level", string(class))
	})
}

// NewFromClient opens the store on a client the caller owns, on the given
// table and under prefix, creating the table when it is missing. Each
// request is bounded by DefaultTimeout (and the caller's context).
//
// The prefix must be non-empty and must not contain ":" (see
// backends.CheckPrefix); Open checks it too, after replacing an empty one
// with DefaultPrefix.
func NewFromClient(ctx context.Context, client *dynamodb.Client, table, prefix string, opts ...Option) (*Store, error) {
	switch {
	case client == nil:
		return nil, errors.New("dynamodb: NewFromClient: nil client")
	case table == "":
		return nil, errors.New("dynamodb: NewFromClient: empty table name")
	}
	o := buildOptions(0, nil, opts)
	st, err := newStore(client, table, prefix, o.timeout, o.log)
	if err != nil {
		return nil, err
	}
	if err := st.setup(ctx); err != nil {
		return nil, fmt.Errorf("dynamodb: open table %q: %w", table, err)
	}
	return st, nil
}

func newStore(client *dynamodb.Client, table, prefix string, timeout time.Duration, log *slog.Logger) (*Store, error) {
	if err := backends.CheckPrefix("dynamodb", prefix); err != nil {
		return nil, err
	}
	if len(backends.EscapeUTF8(prefix)) > MaxPrefixSize {
		return nil, fmt.Errorf("dynamodb: the prefix is %d bytes long; at most %d fit in a DynamoDB key", len(prefix), MaxPrefixSize)
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Store{client: client, table: table, prefix: prefix, timeout: timeout, log: log}
	s.keeper.init()
	return s, nil
}

// Prefix returns the namespace the store was opened with.
func (s *Store) Prefix() string { return s.prefix }

// Table returns the name of the store's table.
func (s *Store) Table() string { return s.table }

// Client returns the store's DynamoDB client.
func (s *Store) Client() *dynamodb.Client { return s.client }

// setup creates the table if it is missing, waits until it is active,
// checks its key schema and enables TTL on exp, best effort.
func (s *Store) setup(ctx context.Context) error {
	desc, err := s.describe(ctx)
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		err = s.createTable(ctx)
		if err == nil {
			desc, err = s.waitActive(ctx)
		}
	} else if err == nil && desc.TableStatus != types.TableStatusActive {
		desc, err = s.waitActive(ctx)
	}
	if err != nil {
		return err
	}
	if err := checkSchema(desc); err != nil {
		return err
	}
	s.enableTTL(ctx)
	return nil
}

func (s *Store) describe(ctx context.Context) (*types.TableDescription, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	out, err := s.client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &s.table})
	if err != nil {
		return nil, err
	}
	return out.Table, nil
}

func (s *Store) createTable(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	_, err := s.client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            &s.table,
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(attrKey), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(attrKey), KeyType: types.KeyTypeHash}},
	})
	var inUse *types.ResourceInUseException
	if errors.As(err, &inUse) {
		return nil // another process created it first
	}
	if err != nil {
		return fmt.Errorf("create table: %w", err)
	}
	s.log.Info("dynamodb: created table", "table", s.table)
	return nil
}

// waitActive polls DescribeTable every 100 ms until the table is ACTIVE,
// for at most TableWait.
func (s *Store) waitActive(ctx context.Context) (*types.TableDescription, error) {
	ctx, cancel := context.WithTimeout(ctx, TableWait)
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		desc, err := s.describe(ctx)
		var nf *types.ResourceNotFoundException
		switch {
		case err == nil && desc.TableStatus == types.TableStatusActive:
			return desc, nil
		case err != nil && !errors.As(err, &nf): // a new table may not be visible at once
			return nil, fmt.Errorf("wait for the table to become active: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("the table did not become active: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

func checkSchema(desc *types.TableDescription) error {
	ks := desc.KeySchema
	if len(ks) != 1 || aws.ToString(ks[0].AttributeName) != attrKey || ks[0].KeyType != types.KeyTypeHash {
		return fmt.Errorf("the table's key schema is %s; the store needs a table whose only key is the string partition key %q", describeSchema(ks), attrKey)
	}
	for _, ad := range desc.AttributeDefinitions {
		if aws.ToString(ad.AttributeName) == attrKey && ad.AttributeType != types.ScalarAttributeTypeS {
			return fmt.Errorf("the table's key %q has type %s; the store needs a string (S)", attrKey, ad.AttributeType)
		}
	}
	return nil
}

func describeSchema(ks []types.KeySchemaElement) string {
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = fmt.Sprintf("%s (%s)", aws.ToString(k.AttributeName), k.KeyType)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// enableTTL turns on DynamoDB's TTL on exp when it is off. Failures are
// logged: expiry is checked on read whatever happens here.
func (s *Store) enableTTL(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	d, err := s.client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &s.table})
	if err == nil && d.TimeToLiveDescription != nil {
		st, attr := d.TimeToLiveDescription.TimeToLiveStatus, aws.ToString(d.TimeToLiveDescription.AttributeName)
		switch {
		case (st == types.TimeToLiveStatusEnabled || st == types.TimeToLiveStatusEnabling) && attr == attrExp:
			return
		case st == types.TimeToLiveStatusEnabled || st == types.TimeToLiveStatusEnabling:
			s.log.Warn("dynamodb: the table's TTL is on another attribute; expired entries stay until FlushExpired",
				"table", s.table, "ttl_attribute", attr)
			return
		}
	}
	if err == nil {
		_, err = s.client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName:               &s.table,
			TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(attrExp), Enabled: aws.Bool(true)},
		})
	}
	var api smithy.APIError
	switch {
	case err == nil:
		s.log.Debug("dynamodb: enabled TTL", "table", s.table, "attribute", attrExp)
	case errors.As(err, &api) && api.ErrorCode() == "UnknownOperationException":
		s.log.Debug("dynamodb: the endpoint does not implement TTL; expired entries stay until FlushExpired", "table", s.table)
	default:
		s.log.Warn("dynamodb: could not enable TTL; expired entries stay until FlushExpired",
			"table", s.table, "err", backends.Redact(err, s.secrets))
	}
}

func (s *Store) wrap(op string, err error) error {
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "ValidationException" &&
		strings.Contains(strings.ToLower(api.ErrorMessage()), "size") {
		return fmt.Errorf("dynamodb: %s: the item is larger than DynamoDB accepts (400 KB): %v: %w",
			op, backends.Redact(err, s.secrets), backends.ErrTooLarge)
	}
	return fmt.Errorf("dynamodb: %s: %w", op, backends.Redact(err, s.secrets))
}

func (s *Store) reqCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// get is Get without the re-creation of a lost table.
func (s *Store) get(ctx context.Context, key string) ([]byte, time.Time, error) {
	k := s.key(key)
	// A chunked value may be replaced between reading its item and its
	// chunks; the chunks are then gone and the item is read again.
	for range 3 {
		item, err := s.getItem(ctx, k)
		if err != nil {
			return nil, time.Time{}, s.wrap("get", err)
		}
		if item == nil {
			return nil, time.Time{}, backends.ErrNotFound
		}
		exp, ok := expiry(item)
		if !ok || !backends.Alive(exp, time.Now()) {
			return nil, time.Time{}, backends.ErrNotFound
		}
		if _, chunked := item[attrVersion]; !chunked {
			v, _ := item[attrValue].(*types.AttributeValueMemberB)
			if v == nil || v.Value == nil {
				return []byte{}, exp, nil
			}
			return v.Value, exp, nil
		}
		val, err := s.readChunks(ctx, item)
		if errors.Is(err, errChunksGone) {
			continue
		}
		if err != nil {
			return nil, time.Time{}, s.wrap("get", err)
		}
		return val, exp, nil
	}
	// The chunks stayed missing: a flush removed them under a value
	// being written. It is a miss.
	return nil, time.Time{}, backends.ErrNotFound
}

func (s *Store) getItem(ctx context.Context, k string) (map[string]types.AttributeValue, error) {
	ctx, cancel := s.reqCtx(ctx)
	defer cancel()
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            keyOf(k),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	return out.Item, nil
}

// set is Set without the re-creation of a lost table.
func (s *Store) set(ctx context.Context, key string, value []byte, expiresAt time.Time) error {
	if len(value) > MaxValueSize {
		return fmt.Errorf("dynamodb: set: a value of %d bytes is larger than the store's limit of %d bytes (values above DynamoDB's 400 KB item limit are split into chunk items, up to that size): %w",
			len(value), MaxValueSize, backends.ErrTooLarge)
	}
	k := s.key(key)
	item := s.expiryAttrs(k, expiresAt)
	var chunks []string
	var ver string
	if len(k)+len(value)+itemOverhead <= MaxItemSize {
		if len(value) > 0 { // an absent v is an empty value
			item[attrValue] = &types.AttributeValueMemberB{Value: value}
		}
	} else {
		ver = backends.NewToken()
		var err error
		chunks, err = s.writeChunks(ctx, ver, value, expiresAt)
		if err != nil {
			s.deleteKeys(ctx, chunks)
			return s.wrap("set", err)
		}
		item[attrVersion] = &types.AttributeValueMemberS{Value: ver}
		item[attrChunks] = num(int64(len(chunks)))
		item[attrSize] = num(int64(len(value)))
	}
	rctx, cancel := s.reqCtx(ctx)
	out, err := s.client.PutItem(rctx, &dynamodb.PutItemInput{
		TableName:    &s.table,
		Item:         item,
		ReturnValues: types.ReturnValueAllOld,
	})
	cancel()
	if err != nil {
		s.deleteKeys(ctx, chunks)
		return s.wrap("set", err)
	}
	// When the SDK retried the PutItem (an answer lost, or failing its
	// checksum, after the service had written the item), the old item it
	// returns is this very one: its chunks are the new value's.
	if old, ok := out.Attributes[attrVersion].(*types.AttributeValueMemberS); !ok || ver == "" || old.Value != ver {
		s.deleteKeys(ctx, s.chunkKeys(out.Attributes))
	}
	return nil
}

func (s *Store) expiryAttrs(k string, expiresAt time.Time) map[string]types.AttributeValue {
	ms := backends.CeilMilli(expiresAt)
	sec := (ms + 999) / 1000 // DynamoDB's TTL may delete it from this second on
	return map[string]types.AttributeValue{
		attrKey:   &types.AttributeValueMemberS{Value: k},
		attrExp:   num(sec),
		attrExpMS: num(ms),
	}
}

// errChunksGone reports that a chunked value's chunks are not all there.
var errChunksGone = errors.New("chunks of the value are missing")

func (s *Store) chunkKey(ver string, i int) string {
	return backends.InternalKey(s.prefix, "chunk", ver+":"+strconv.Itoa(i))
}

// chunkKeys lists the chunk items of a stored entry (none for an inline value).
func (s *Store) chunkKeys(item map[string]types.AttributeValue) []string {
	ver, ok := item[attrVersion].(*types.AttributeValueMemberS)
	if !ok {
		return nil
	}
	n, ok := numAttr(item, attrChunks)
	if !ok || n < 0 || n > MaxValueSize/ChunkSize+1 {
		return nil
	}
	keys := make([]string, n)
	for i := range keys {
		keys[i] = s.chunkKey(ver.Value, i)
	}
	return keys
}

// writeChunks writes value as chunk items of version ver and returns their
// keys (those written so far on error).
func (s *Store) writeChunks(ctx context.Context, ver string, value []byte, expiresAt time.Time) ([]string, error) {
	var keys []string
	var batch []types.WriteRequest
	for i := 0; len(value) > 0; i++ {
		n := min(ChunkSize, len(value))
		k := s.chunkKey(ver, i)
		item := s.expiryAttrs(k, expiresAt)
		item[attrValue] = &types.AttributeValueMemberB{Value: value[:n]}
		value = value[n:]
		keys = append(keys, k)
		batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		if len(batch) == chunkBatch || len(value) == 0 {
			if err := s.batchWrite(ctx, batch); err != nil {
				return keys, err
			}
			batch = batch[:0]
		}
	}
	return keys, nil
}

// readChunks reads the value of a chunked entry.
func (s *Store) readChunks(ctx context.Context, item map[string]types.AttributeValue) ([]byte, error) {
	keys := s.chunkKeys(item)
	size, ok := numAttr(item, attrSize)
	if len(keys) == 0 || !ok || size < 0 || size > MaxValueSize {
		return nil, fmt.Errorf("the entry %q has a malformed chunk manifest", keyString(item))
	}
	parts := make(map[string][]byte, len(keys))
	for start := 0; start < len(keys); start += chunkBatch {
		want := keys[start:min(start+chunkBatch, len(keys))]
		req := map[string]types.KeysAndAttributes{s.table: {Keys: keysOf(want), ConsistentRead: aws.Bool(true)}}
		for attempt := 0; len(req) > 0; attempt++ {
			if err := backoff(ctx, attempt); err != nil {
				return nil, err
			}
			rctx, cancel := s.reqCtx(ctx)
			out, err := s.client.BatchGetItem(rctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			cancel()
			if err != nil {
				return nil, err
			}
			for _, it := range out.Responses[s.table] {
				if v, ok := it[attrValue].(*types.AttributeValueMemberB); ok {
					parts[keyString(it)] = v.Value
				}
			}
			req = out.UnprocessedKeys
		}
	}
	val := make([]byte, 0, size)
	for _, k := range keys {
		p, ok := parts[k]
		if !ok {
			return nil, errChunksGone
		}
		val = append(val, p...)
	}
	if int64(len(val)) != size {
		return nil, errChunksGone
	}
	return val, nil
}

// del is Delete without the re-creation of a lost table.
func (s *Store) del(ctx context.Context, key string) (bool, error) {
	rctx, cancel := s.reqCtx(ctx)
	out, err := s.client.DeleteItem(rctx, &dynamodb.DeleteItemInput{
		TableName:    &s.table,
		Key:          keyOf(s.key(key)),
		ReturnValues: types.ReturnValueAllOld,
	})
	cancel()
	if err != nil {
		return false, s.wrap("delete", err)
	}
	if out.Attributes == nil {
		return false, nil
	}
	s.deleteKeys(ctx, s.chunkKeys(out.Attributes))
	exp, ok := expiry(out.Attributes)
	return ok && backends.Alive(exp, time.Now()), nil
}

// clearNamespace is ClearNamespace without the re-creation of a lost table.
func (s *Store) clearNamespace(ctx context.Context, namespace string) (int, error) {
	p, err := keyPrefix(backends.NamespacePrefix(s.prefix, namespace))
	if err != nil {
		return 0, fmt.Errorf("dynamodb: clear namespace: %w", err)
	}
	live := 0
	now := time.Now()
	err = s.scan(ctx, p, false, func(items []map[string]types.AttributeValue) error {
		var keys []string
		for _, it := range items {
			keys = append(keys, keyString(it))
			keys = append(keys, s.chunkKeys(it)...)
			if exp, ok := expiry(it); ok && backends.Alive(exp, now) {
				live++
			}
		}
		return s.deleteAll(ctx, keys)
	})
	if err != nil {
		return live, s.wrap("clear namespace", err)
	}
	return live, nil
}

// flush is Flush without the re-creation of a lost table.
func (s *Store) flush(ctx context.Context) error {
	err := s.scan(ctx, backends.EscapeUTF8(s.prefix+":"), false, func(items []map[string]types.AttributeValue) error {
		keys := make([]string, len(items))
		for i, it := range items {
			keys[i] = keyString(it)
		}
		return s.deleteAll(ctx, keys)
	})
	if err != nil {
		return s.wrap("flush", err)
	}
	return nil
}

// flushExpired is FlushExpired without the re-creation of a lost table.
func (s *Store) flushExpired(ctx context.Context) error {
	now := time.Now()
	err := s.scan(ctx, backends.EscapeUTF8(s.prefix+":"), true, func(items []map[string]types.AttributeValue) error {
		if testHookAfterScan != nil {
			testHookAfterScan()
		}
		for _, it := range items {
			if err := s.deleteExpired(ctx, keyString(it), now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return s.wrap("flush expired", err)
	}
	return nil
}

// testHookAfterScan, set only by tests, runs between FlushExpired's scan of
// a page and its deletes.
var testHookAfterScan func()

// deleteExpired deletes the item under k if it is expired at now, and the
// chunks of the value it held.
func (s *Store) deleteExpired(ctx context.Context, k string, now time.Time) error {
	rctx, cancel := s.reqCtx(ctx)
	out, err := s.client.DeleteItem(rctx, &dynamodb.DeleteItemInput{
		TableName:                 &s.table,
		Key:                       keyOf(k),
		ConditionExpression:       aws.String("#m <= :now"),
		ExpressionAttributeNames:  map[string]string{"#m": attrExpMS},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.UnixMilli())},
		ReturnValues:              types.ReturnValueAllOld,
	})
	cancel()
	var changed *types.ConditionalCheckFailedException
	if errors.As(err, &changed) {
		return nil // rewritten, taken over or removed since the scan
	}
	if err != nil {
		return err
	}
	if chunks := s.chunkKeys(out.Attributes); len(chunks) > 0 {
		return s.deleteAll(ctx, chunks)
	}
	return nil
}

// scan pages through the items whose key begins with p (and, if
// expiredOnly, whose expiry has passed), with strongly consistent reads,
// and hands each page to fn.
func (s *Store) scan(ctx context.Context, p string, expiredOnly bool, fn func([]map[string]types.AttributeValue) error) error {
	filter := "begins_with(#k, :p)"
	values := map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: p}}
	names := map[string]string{"#k": attrKey, "#m": attrExpMS, "#v": attrVersion, "#n": attrChunks}
	if expiredOnly {
		filter += " AND #m <= :now"
		values[":now"] = num(time.Now().UnixMilli())
	}
	in := &dynamodb.ScanInput{
		TableName:                 &s.table,
		FilterExpression:          &filter,
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ProjectionExpression:      aws.String("#k, #m, #v, #n"),
		ConsistentRead:            aws.Bool(true),
	}
	for {
		rctx, cancel := s.reqCtx(ctx)
		out, err := s.client.Scan(rctx, in)
		cancel()
		if err != nil {
			return err
		}
		if len(out.Items) > 0 {
			if err := fn(out.Items); err != nil {
				return err
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// deleteAll deletes the items under keys, 25 to a BatchWriteItem.
func (s *Store) deleteAll(ctx context.Context, keys []string) error {
	seen := make(map[string]bool, len(keys))
	var batch []types.WriteRequest
	for i, k := range keys {
		if !seen[k] { // a batch must not name one key twice
			seen[k] = true
			batch = append(batch, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: keyOf(k)}})
		}
		if len(batch) == batchSize || (i == len(keys)-1 && len(batch) > 0) {
			if err := s.batchWrite(ctx, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	return nil
}

// deleteKeys deletes items that are no longer referenced (chunks of a
// replaced value), logging failures: the items carry an expiry, so TTL or
// FlushExpired removes them later anyway.
func (s *Store) deleteKeys(ctx context.Context, keys []string) {
	if len(keys) == 0 {
		return
	}
	if err := s.deleteAll(context.WithoutCancel(ctx), keys); err != nil {
		s.log.Warn("dynamodb: could not delete the chunks of a replaced value; they expire with it",
			"table", s.table, "chunks", len(keys), "err", backends.Redact(err, s.secrets))
	}
}

// batchWrite sends one BatchWriteItem and retries its unprocessed items with
// exponential backoff.
func (s *Store) batchWrite(ctx context.Context, reqs []types.WriteRequest) error {
	items := map[string][]types.WriteRequest{s.table: reqs}
	for attempt := 0; len(items) > 0 && len(items[s.table]) > 0; attempt++ {
		if err := backoff(ctx, attempt); err != nil {
			return err
		}
		rctx, cancel := s.reqCtx(ctx)
		out, err := s.client.BatchWriteItem(rctx, &dynamodb.BatchWriteItemInput{RequestItems: items})
		cancel()
		if err != nil {
			return err
		}
		items = out.UnprocessedItems
	}
	return nil
}

// backoff waits before retry number attempt (none before the first try):
// 50 ms, doubling, at most 2 s, for at most 10 retries.
func backoff(ctx context.Context, attempt int) error {
	if attempt == 0 {
		return nil
	}
	if attempt > 10 {
		return errors.New("DynamoDB left items unprocessed after 10 retries (throttled)")
	}
	d := min(50*time.Millisecond<<(attempt-1), 2*time.Second)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// lock is Lock without the re-creation of a lost table.
func (s *Store) lock(ctx context.Context, key string, ttl time.Duration) (string, bool, error) {
	if ttl <= 0 {
		return "", false, fmt.Errorf("dynamodb: lock: ttl must be positive, got %v", ttl)
	}
	now := time.Now()
	token := backends.NewToken()
	item := s.expiryAttrs(s.lockKey(key), now.Add(ttl))
	item[attrToken] = &types.AttributeValueMemberS{Value: token}
	ctx, cancel := s.reqCtx(ctx)
	defer cancel()
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 &s.table,
		Item:                      item,
		ConditionExpression:       aws.String("attribute_not_exists(#k) OR #m <= :now"),
		ExpressionAttributeNames:  exprNames,
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.UnixMilli())},
	})
	var held *types.ConditionalCheckFailedException
	if errors.As(err, &held) {
		return "", false, nil
	}
	if err != nil {
		return "", false, s.wrap("lock", err)
	}
	return token, true, nil
}

// unlock is Unlock without the re-creation of a lost table.
func (s *Store) unlock(ctx context.Context, key, token string) (bool, error) {
	if token == "" {
		return false, nil
	}
	ctx, cancel := s.reqCtx(ctx)
	defer cancel()
	out, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 &s.table,
		Key:                       keyOf(s.lockKey(key)),
		ConditionExpression:       aws.String("#t = :t"),
		ExpressionAttributeNames:  map[string]string{"#t": attrToken},
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberS{Value: token}},
		ReturnValues:              types.ReturnValueAllOld,
	})
	var other *types.ConditionalCheckFailedException
	if errors.As(err, &other) {
		return false, nil
	}
	if err != nil {
		return false, s.wrap("unlock", err)
	}
	exp, ok := expiry(out.Attributes)
	return ok && backends.Alive(exp, time.Now()), nil
}

// Close closes the connections of a store made by Open, after which its
// calls fail; a client passed to NewFromClient is left alone.
func (s *Store) Close() error {
	s.keeper.stop()
	if s.closeFn != nil {
		s.closeFn()
	}
	return nil
}

func (s *Store) key(key string) string     { return storeKey(backends.Key(s.prefix, key)) }
func (s *Store) lockKey(key string) string { return storeKey(backends.LockKey(s.prefix, key)) }

// keyPrefix maps a key prefix (ending in ":") the way storeKey maps the keys
// that start with it, or fails when it is too long to survive the
// shortening of long keys.
func keyPrefix(p string) (string, error) {
	e := backends.EscapeUTF8(p)
	if len(e) > keyKeep-2*utf8.UTFMax {
		return "", fmt.Errorf("the namespace is too long (%d bytes); at most about %d bytes can be matched in DynamoDB keys", len(p), keyKeep-2*utf8.UTFMax)
	}
	return e, nil
}

// keyKeep is how many bytes of a long key are kept before its hash.
const keyKeep = maxKeySize - len(hashMark) - sha256.Size*2

const hashMark = "\x00sha256:"

// storeKey is the partition key of a full key ("prefix:key"). DynamoDB
// takes keys of valid UTF-8 up to 2048 bytes. A key that is not valid
// UTF-8 is escaped (see backends.EscapeUTF8); one that is (then) longer than 2048
// bytes is stored as its first bytes followed by a SHA-256 of the whole.
// Distinct keys stay distinct and keep their namespace as a prefix.
func storeKey(full string) string {
	plain := backends.PlainUTF8(full)
	if plain && len(full) <= maxKeySize {
		return full
	}
	e := backends.EscapeUTF8(full)
	if !plain && len(e) <= maxKeySize {
		return e
	}
	sum := sha256.Sum256([]byte(full))
	return e[:runeStart(e, keyKeep)] + hashMark + hex.EncodeToString(sum[:])
}

// runeStart returns the largest i <= n at which a rune of s starts.
func runeStart(s string, n int) int {
	if n >= len(s) {
		return len(s)
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}

func keyOf(k string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrKey: &types.AttributeValueMemberS{Value: k}}
}

func keysOf(keys []string) []map[string]types.AttributeValue {
	out := make([]map[string]types.AttributeValue, len(keys))
	for i, k := range keys {
		out[i] = keyOf(k)
	}
	return out
}

func keyString(item map[string]types.AttributeValue) string {
	if k, ok := item[attrKey].(*types.AttributeValueMemberS); ok {
		return k.Value
	}
	return ""
}

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func numAttr(item map[string]types.AttributeValue, name string) (int64, bool) {
	v, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	return n, err == nil
}

// expiry reads an item's expiry; an item without one (not written by this
// store) counts as expired.
func expiry(item map[string]types.AttributeValue) (time.Time, bool) {
	ms, ok := numAttr(item, attrExpMS)
	if !ok {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}

// urlSecrets returns what must be scrubbed from errors and logs about the
// endpoint URL: its password and its user name (where an AWS access key id
// would go), as written and unescaped.
func urlSecrets(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return nil
	}
	pass, _ := u.User.Password()
	secrets := []string{u.User.Username(), pass}
	// As written in the URL, escapes and all.
	if _, rest, ok := strings.Cut(raw, "://"); ok {
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			name, pw, _ := strings.Cut(rest[:at], ":")
			secrets = append(secrets, name, pw)
		}
	}
	return slices.DeleteFunc(secrets, func(s string) bool { return s == "" })
}

// redactURL names the endpoint in errors and logs by its scheme and host
// only: its user information (a password, perhaps an access key id) and
// its query are left out.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return `the endpoint ("dynamodb_url")`
	}
	return u.Scheme + "://" + u.Host
}

// errClosed is returned by the calls of a store made by Open after Close.
var errClosed = errors.New("the store is closed")

// connTracker dials the connections of a store made by Open and keeps
// them, so that Close can close them: the SDK's HTTP client has no way to.
type connTracker struct {
	dialer net.Dialer
	mu     sync.Mutex
	conns  map[*trackedConn]struct{}
	closed bool
}

func (t *connTracker) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := t.dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		c.Close()
		return nil, errClosed
	}
	tc := &trackedConn{Conn: c, t: t}
	if t.conns == nil {
		t.conns = make(map[*trackedConn]struct{})
	}
	t.conns[tc] = struct{}{}
	return tc, nil
}

func (t *connTracker) closeAll() {
	t.mu.Lock()
	conns := t.conns
	t.conns, t.closed = nil, true
	t.mu.Unlock()
	for c := range conns {
		c.Conn.Close()
	}
}

// trackInstanceMetadata gives the EC2 instance metadata service client of
// cfg's credentials, when they come from it (the last link of the default
// credential chain), an HTTP client whose connections the returned tracker
// closes. The SDK's own client for it is a copy of cfg's HTTP client with
// its dialer replaced: its connections escaped the store's Close and stayed
// open, two goroutines each, until the SDK's idle timeout (90 s).
func trackInstanceMetadata(cfg *aws.Config) *connTracker {
	// The SDK's timeouts for the metadata service: it is often absent.
	t := &connTracker{dialer: net.Dialer{Timeout: 250 * time.Millisecond, KeepAlive: 30 * time.Second}}
	cc, ok := cfg.Credentials.(*aws.CredentialsCache)
	if !ok || !cc.IsCredentialsProvider((*ec2rolecreds.Provider)(nil)) {
		return t
	}
	tr := awshttp.NewBuildableClient().GetTransport()
	tr.DialContext = t.DialContext
	tr.ResponseHeaderTimeout = 500 * time.Millisecond
	hc := &http.Client{Transport: tr} // not an *awshttp.BuildableClient: the imds package keeps it as it is
	client := imds.NewFromConfig(*cfg, func(o *imds.Options) { o.HTTPClient = hc })
	cfg.Credentials = aws.NewCredentialsCache(ec2rolecreds.New(func(o *ec2rolecreds.Options) { o.Client = client }))
	return t
}

type trackedConn struct {
	net.Conn
	t *connTracker
}

func (c *trackedConn) Close() error {
	c.t.mu.Lock()
	delete(c.t.conns, c)
	c.t.mu.Unlock()
	return c.Conn.Close()
}

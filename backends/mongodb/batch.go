package mongodb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/cachette-go/cachette/backends"
)

var _ backends.Batcher = (*Store)(nil)

// codeDuplicateKey is the server's code for an insert that met an
// existing _id (two upserts of one new _id racing).
const codeDuplicateKey = 11000

// GetMany reads keys with one find on _id $in (the server returns the
// documents in batches of its own, 16 MiB each at most).
func (s *Store) GetMany(ctx context.Context, keys []string) (map[string]backends.Item, error) {
	keys = backends.Distinct(keys)
	out := make(map[string]backends.Item, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	byID := make(map[string]string, len(keys))
	ids := make(bson.A, len(keys))
	for i, k := range keys {
		id := s.id(k)
		byID[id] = k
		ids[i] = id
	}
	cur, err := s.coll.Find(ctx, bson.D{{Key: fieldID, Value: bson.D{{Key: "$in", Value: ids}}}})
	if err != nil {
		return nil, fmt.Errorf("mongodb: get many: %w", err)
	}
	defer cur.Close(ctx)
	now := time.Now()
	for cur.Next(ctx) {
		id, _ := cur.Current.Lookup(fieldID).StringValueOK()
		k, ok := byID[id]
		if !ok {
			continue
		}
		value, exp, err := decodeEntry(cur.Current)
		if err != nil {
			s.log.Warn("mongodb: a document under the prefix is not a cache entry; treated as a miss",
				"collection", s.coll.Name(), "_id", id, "err", err)
			continue
		}
		if backends.Alive(exp, now) {
			// The cursor reuses its buffer: keep a copy.
			out[k] = backends.Item{Value: append([]byte{}, value...), ExpiresAt: exp}
		}
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("mongodb: get many: %w", err)
	}
	return out, nil
}

// SetMany writes entries with one unordered bulk write of upserts (the
// driver splits it where the server's limits say). An upsert that lost a
// race to insert the same new _id is retried alone, as Set retries it.
func (s *Store) SetMany(ctx context.Context, entries []backends.Entry) error {
	entries = backends.LastEntries(entries)
	var errs []error
	models := make([]mongo.WriteModel, 0, len(entries))
	sent := make([]backends.Entry, 0, len(entries))
	for _, e := range entries {
		id := s.id(e.Key)
		if size := len(e.Value) + len(id) + docOverhead; size > MaxDocumentSize {
			errs = append(errs, backends.EntryError(e.Key, fmt.Errorf("mongodb: set: a value of %d bytes under a %d-byte key does not fit in one MongoDB document (16 MiB limit): %w",
				len(e.Value), len(id), backends.ErrTooLarge)))
			continue
		}
		value := e.Value
		if value == nil {
			value = []byte{}
		}
		doc := entry{ID: id, Value: value, Exp: bson.DateTime(backends.CeilMilli(e.ExpiresAt))}
		models = append(models, mongo.NewReplaceOneModel().
			SetFilter(bson.D{{Key: fieldID, Value: id}}).SetReplacement(doc).SetUpsert(true))
		sent = append(sent, e)
	}
	if len(models) == 0 {
		return errors.Join(errs...)
	}
	bctx, cancel := s.opCtx(ctx)
	_, err := s.coll.BulkWrite(bctx, models, options.BulkWrite().SetOrdered(false))
	cancel()
	var bwe mongo.BulkWriteException
	switch {
	case err == nil:
	case errors.As(err, &bwe) && bwe.WriteConcernError == nil && len(bwe.WriteErrors) > 0:
		for _, we := range bwe.WriteErrors {
			if we.Index < 0 || we.Index >= len(sent) {
				errs = append(errs, fmt.Errorf("mongodb: set many: %w", we))
				continue
			}
			e := sent[we.Index]
			if we.Code == codeDuplicateKey {
				errs = append(errs, backends.EntryError(e.Key, s.Set(ctx, e.Key, e.Value, e.ExpiresAt)))
				continue
			}
			var werr error = we
			if we.Code == codeBSONObjectTooLarge {
				werr = fmt.Errorf("%w: %w", backends.ErrTooLarge, we)
			}
			errs = append(errs, backends.EntryError(e.Key, fmt.Errorf("mongodb: set: %w", werr)))
		}
	default:
		errs = append(errs, fmt.Errorf("mongodb: set many: %w", err))
	}
	return errors.Join(errs...)
}

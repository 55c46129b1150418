package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cachette-go/cachette/backends"
)

var _ backends.Batcher = (*Store)(nil)

// getBatchSize is BatchGetItem's limit on keys per request.
const getBatchSize = 100

// getMany is GetMany without the re-creation of a lost table.
func (s *Store) getMany(ctx context.Context, keys []string) (map[string]backends.Item, error) {
	keys = backends.Distinct(keys)
	out := make(map[string]backends.Item, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	byStoreKey := make(map[string]string, len(keys))
	skeys := make([]string, len(keys))
	for i, k := range keys {
		skeys[i] = s.key(k)
		byStoreKey[skeys[i]] = k
	}
	items, err := s.batchGet(ctx, skeys, nil)
	if err != nil {
		return nil, s.wrap("get many", err)
	}
	now := time.Now()
	for _, item := range items {
		k, ok := byStoreKey[keyString(item)]
		if !ok {
			continue
		}
		exp, ok := expiry(item)
		if !ok || !backends.Alive(exp, now) {
			continue
		}
		if _, chunked := item[attrVersion]; chunked {
			val, err := s.readChunks(ctx, item)
			if errors.Is(err, errChunksGone) {
				// Replaced meanwhile: read it again as Get does.
				val, exp, err = s.get(ctx, k)
				if errors.Is(err, backends.ErrNotFound) {
					continue
				}
			}
			if err != nil {
				return nil, s.wrap("get many", err)
			}
			out[k] = backends.Item{Value: val, ExpiresAt: exp}
			continue
		}
		v, _ := item[attrValue].(*types.AttributeValueMemberB)
		if v == nil || v.Value == nil {
			out[k] = backends.Item{Value: []byte{}, ExpiresAt: exp}
		} else {
			out[k] = backends.Item{Value: v.Value, ExpiresAt: exp}
		}
	}
	return out, nil
}

// batchGet reads the items under the distinct store keys skeys, 100 to a
// BatchGetItem, retrying unprocessed keys; projection, if set, names the
// attributes to read.
func (s *Store) batchGet(ctx context.Context, skeys []string, projection []string) ([]map[string]types.AttributeValue, error) {
	var out []map[string]types.AttributeValue
	for start := 0; start < len(skeys); start += getBatchSize {
		ka := types.KeysAndAttributes{
			Keys:           keysOf(skeys[start:min(start+getBatchSize, len(skeys))]),
			ConsistentRead: aws.Bool(true),
		}
		if len(projection) > 0 {
			names := map[string]string{}
			expr := ""
			for i, p := range projection {
				n := fmt.Sprintf("#p%d", i)
				names[n] = p
				if i > 0 {
					expr += ", "
				}
				expr += n
			}
			ka.ProjectionExpression = aws.String(expr)
			ka.ExpressionAttributeNames = names
		}
		req := map[string]types.KeysAndAttributes{s.table: ka}
		for attempt := 0; len(req) > 0 && len(req[s.table].Keys) > 0; attempt++ {
			if err := backoff(ctx, attempt); err != nil {
				return nil, err
			}
			rctx, cancel := s.reqCtx(ctx)
			res, err := s.client.BatchGetItem(rctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			cancel()
			if err != nil {
				return nil, err
			}
			out = append(out, res.Responses[s.table]...)
			req = res.UnprocessedKeys
		}
	}
	return out, nil
}

// setMany is SetMany without the re-creation of a lost table.
func (s *Store) setMany(ctx context.Context, entries []backends.Entry) error {
	entries = backends.LastEntries(entries)
	var errs []error
	var puts []types.WriteRequest
	var putKeys []string
	for _, e := range entries {
		if len(e.Value) > MaxValueSize {
			errs = append(errs, backends.EntryError(e.Key, fmt.Errorf("dynamodb: set: a value of %d bytes is larger than the store's limit of %d bytes: %w",
				len(e.Value), MaxValueSize, backends.ErrTooLarge)))
			continue
		}
		k := s.key(e.Key)
		if len(k)+len(e.Value)+itemOverhead > MaxItemSize {
			errs = append(errs, backends.EntryError(e.Key, s.set(ctx, e.Key, e.Value, e.ExpiresAt)))
			continue
		}
		item := s.expiryAttrs(k, e.ExpiresAt)
		if len(e.Value) > 0 {
			item[attrValue] = &types.AttributeValueMemberB{Value: e.Value}
		}
		puts = append(puts, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		putKeys = append(putKeys, k)
	}
	if len(puts) == 0 {
		return errors.Join(errs...)
	}
	old, err := s.batchGet(ctx, putKeys, []string{attrKey, attrVersion, attrChunks})
	if err != nil {
		return errors.Join(append(errs, s.wrap("set many", err))...)
	}
	chunksOf := make(map[string][]string, len(old))
	for _, it := range old {
		chunksOf[keyString(it)] = s.chunkKeys(it)
	}
	var stale []string
	for start := 0; start < len(puts); start += batchSize {
		end := min(start+batchSize, len(puts))
		if err := s.batchWrite(ctx, puts[start:end]); err != nil {
			errs = append(errs, s.wrap(fmt.Sprintf("set many (%d entries)", end-start), err))
			continue // the old values may still be there, chunks and all
		}
		for _, k := range putKeys[start:end] {
			stale = append(stale, chunksOf[k]...)
		}
	}
	s.deleteKeys(ctx, stale)
	return errors.Join(errs...)
}

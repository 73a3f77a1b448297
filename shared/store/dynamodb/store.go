package dynamodb

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/store/dynamodb/schema"
)

// API is the part of the DynamoDB client the Store calls. *dynamodb.Client implements it; tests wrap it to
// simulate DynamoDB behaviour dynalite lacks.
type API interface {
	GetItem(ctx context.Context, in *ddb.GetItemInput, optFns ...func(*ddb.Options)) (*ddb.GetItemOutput, error)
	PutItem(ctx context.Context, in *ddb.PutItemInput, optFns ...func(*ddb.Options)) (*ddb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *ddb.UpdateItemInput, optFns ...func(*ddb.Options)) (*ddb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *ddb.DeleteItemInput, optFns ...func(*ddb.Options)) (*ddb.DeleteItemOutput, error)
	Query(ctx context.Context, in *ddb.QueryInput, optFns ...func(*ddb.Options)) (*ddb.QueryOutput, error)
	Scan(ctx context.Context, in *ddb.ScanInput, optFns ...func(*ddb.Options)) (*ddb.ScanOutput, error)
}

// Options tune a Store.
type Options struct {
	// Clock dates guard acquisitions and judges their age, and judges the expiry of waits (TakeWait).
	// Default time.Now.
	Clock onboarding.Clock
	// GuardStaleAfter is how long a guard whose holder has no record yet still counts as active: the holder
	// may be between writing its guard and writing its record. Older such guards were left by a create that
	// died halfway and are taken over. Default DefaultGuardStaleAfter.
	GuardStaleAfter time.Duration
	// GuardAttempts bounds the acquire loop (each attempt is a conditional write that lost a race).
	// Default DefaultGuardAttempts.
	GuardAttempts int
	// CleanupTimeout bounds the guard releases and rollbacks, which run even after the caller's context
	// ended so that an abandoned request leaves no guard behind. Default DefaultCleanupTimeout.
	CleanupTimeout time.Duration
	// Logger receives the failures the Store tolerates (a guard release that did not happen). Default
	// slog.Default().
	Logger *slog.Logger
}

// Defaults of Options.
const (
	DefaultGuardStaleAfter = time.Minute
	DefaultGuardAttempts   = 8
	DefaultCleanupTimeout  = 5 * time.Second
)

// Store is the DynamoDB implementation of onboarding.Store and onboarding.WebhookStore. It is safe for concurrent use, also across
// processes: every write is conditional.
type Store struct {
	api   API
	table string
	opts  Options
}

var _ onboarding.Store = (*Store)(nil)

// New returns a Store on table through client.
func New(client API, table string, optFns ...func(*Options)) *Store {
	o := Options{
		Clock:           time.Now,
		GuardStaleAfter: DefaultGuardStaleAfter,
		GuardAttempts:   DefaultGuardAttempts,
		CleanupTimeout:  DefaultCleanupTimeout,
	}
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.GuardAttempts <= 0 {
		o.GuardAttempts = DefaultGuardAttempts
	}
	if o.CleanupTimeout <= 0 {
		o.CleanupTimeout = DefaultCleanupTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Store{api: client, table: table, opts: o}
}

// Create stores a new record at version 1. An active record first acquires the guard of its WABA and phone
// number (*onboarding.ActiveOnboardingError if another active onboarding holds it). A record whose id exists
// already is refused with onboarding.ErrVersionConflict (it would overwrite a version the caller never read).
func (s *Store) Create(ctx context.Context, r *onboarding.Record) error {
	if err := r.Validate(); err != nil {
		return s.errorf("create", "", err)
	}
	const version = 1
	item, err := marshalRecord(r, version)
	if err != nil {
		return s.errorf("create", r.ID, err)
	}
	var g *guardItem
	if r.Status.Active() {
		if g, err = s.acquire(ctx, r, version, true); err != nil {
			return err
		}
	}
	_, err = s.api.PutItem(ctx, &ddb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": schema.AttrPK},
	})
	if err == nil {
		r.Version = version
		return nil
	}
	return s.createFailed(ctx, r, item, g, err)
}

// createFailed handles a failed record write of Create, after the guard g (nil for an inactive record) was
// acquired for it. The failure does not prove that nothing was written: a timeout or a lost response can
// hide a write that happened, and then the SDK's retry of it fails its condition. Rolling back the guard of
// a stored active record would let a second onboarding start, so it looks first: the record as written
// means the create succeeded; another record or none means the guard can go; if it cannot tell, the guard
// stays, which is safe (its holder's record either exists, and decides, or never appears, and the guard
// stops counting after GuardStaleAfter).
func (s *Store) createFailed(ctx context.Context, r *onboarding.Record, item map[string]types.AttributeValue, g *guardItem, putErr error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.CleanupTimeout)
	defer cancel()
	stored, err := s.getRecord(ctx, r.ID)
	if err == nil && isItem(stored, item) {
		s.opts.Logger.WarnContext(ctx, "onboarding record write reported an error but was stored",
			slog.String("table", s.table), slog.String("onboarding_id", r.ID), slog.Any("error", putErr))
		r.Version = 1
		return nil
	}
	if g != nil && (err == nil || errors.Is(err, onboarding.ErrNotFound)) {
		s.rollback(ctx, g)
	}
	if isConditionalFailure(putErr) {
		return s.errorf("create", r.ID, fmt.Errorf("record already exists: %w", onboarding.ErrVersionConflict))
	}
	return s.errorf("PutItem", "onboarding "+r.ID, putErr)
}

// isItem reports whether stored is the record item describes, that is whether a write of item happened.
func isItem(stored *onboarding.Record, item map[string]types.AttributeValue) bool {
	want, err := unmarshalRecord(item)
	return err == nil && reflect.DeepEqual(stored, want)
}

// Get returns the record, read consistently, or onboarding.ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (*onboarding.Record, error) {
	if id == "" {
		return nil, s.errorf("get", id, onboarding.ErrNotFound)
	}
	return s.getRecord(ctx, id)
}

// Update writes r if the stored version equals r.Version and then increments r.Version; it changes nothing
// else in r (the caller sets UpdatedAt). A record that does not exist is onboarding.ErrNotFound, a stale
// version onboarding.ErrVersionConflict. Moving from an inactive status into an active one (a retry) acquires
// the WABA+phone guard first (*onboarding.ActiveOnboardingError if another onboarding holds it); moving out
// of an active status releases it after the write. WABAID and PhoneNumberID cannot change.
func (s *Store) Update(ctx context.Context, r *onboarding.Record) error {
	if err := r.Validate(); err != nil {
		return s.errorf("update", "", err)
	}
	// Read first: the guard work depends on the status being left, and the conditional write below makes
	// the read authoritative (the write fails unless the stored version is still the one read).
	old, err := s.getRecord(ctx, r.ID)
	if err != nil {
		return err
	}
	if old.Version != r.Version {
		return s.errorf("update", r.ID, fmt.Errorf("stored version %d, caller has %d: %w", old.Version, r.Version, onboarding.ErrVersionConflict))
	}
	if err := immutable(old, r); err != nil {
		return s.errorf("update", r.ID, err)
	}
	next := r.Version + 1
	item, err := marshalRecord(r, next)
	if err != nil {
		return s.errorf("update", r.ID, err)
	}
	if !old.Status.Active() && r.Status.Active() {
		if _, err := s.acquire(ctx, r, next, false); err != nil {
			return err
		}
	}
	_, err = s.api.PutItem(ctx, &ddb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       aws.String("#v = :v"),
		ExpressionAttributeNames:  map[string]string{"#v": schema.AttrVersion},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": number(r.Version)},
	})
	if err != nil {
		// A guard acquired above stays: its holder's record is inactive (this write lost), so it is stale and
		// the next creator takes it over, or a concurrent retry of this same record won and needs it.
		if !isConditionalFailure(err) {
			return s.errorf("PutItem", "onboarding "+r.ID, err)
		}
		stored, gerr := s.getRecord(ctx, r.ID)
		switch {
		case errors.Is(gerr, onboarding.ErrNotFound):
			return gerr
		case gerr != nil || !isItem(stored, item):
			return s.errorf("update", r.ID, fmt.Errorf("version %d was overwritten: %w", r.Version, onboarding.ErrVersionConflict))
		}
		// The stored record is this write: its first response was lost and the SDK's retry failed the
		// version condition that the write itself had changed. (A concurrent writer of an identical item,
		// down to the nanoseconds of UpdatedAt, also lands here; both callers wanted the state now stored.)
	}
	if old.Status.Active() && !r.Status.Active() {
		s.release(ctx, r, next)
	}
	r.Version = next
	return nil
}

// FindByPhone returns the most recently created record of a business phone number id, or
// onboarding.ErrNotFound. It finds the id on GSI1 and then reads the record consistently, because callers
// (webhook correlation) update what they find and an index copy may lag behind the table.
func (s *Store) FindByPhone(ctx context.Context, phoneNumberID string) (*onboarding.Record, error) {
	if phoneNumberID == "" {
		return nil, s.errorf("find by phone", phoneNumberID, onboarding.ErrNotFound)
	}
	out, err := s.api.Query(ctx, &ddb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(schema.IndexGSI1),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": schema.AttrGSI1PK, "#id": "id"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: phonePrefix + phoneNumberID}},
		ProjectionExpression:      aws.String("#id"),
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(1),
	})
	if err != nil {
		return nil, s.errorf("Query "+schema.IndexGSI1, "phone "+phoneNumberID, err)
	}
	if len(out.Items) == 0 {
		return nil, s.errorf("find by phone", phoneNumberID, onboarding.ErrNotFound)
	}
	id, ok := out.Items[0]["id"].(*types.AttributeValueMemberS)
	if !ok {
		return nil, s.errorf("Query "+schema.IndexGSI1, "phone "+phoneNumberID, errors.New("index item without a string id"))
	}
	return s.getRecord(ctx, id.Value)
}

// FindByWABA returns the records of a WABA from GSI2, most recently created first, at most limit (all if
// limit <= 0). Index reads are eventually consistent: Get a record by id before a read-modify-write.
func (s *Store) FindByWABA(ctx context.Context, wabaID string, limit int) ([]*onboarding.Record, error) {
	recs := []*onboarding.Record{}
	if wabaID == "" {
		return recs, nil
	}
	in := &ddb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(schema.IndexGSI2),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": schema.AttrGSI2PK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: wabaPrefix + wabaID}},
		ScanIndexForward:          aws.Bool(false),
	}
	for {
		if limit > 0 {
			in.Limit = aws.Int32(int32(min(limit-len(recs), math.MaxInt32)))
		}
		page, more, err := s.queryRecords(ctx, in, "waba "+wabaID)
		if err != nil {
			return nil, err
		}
		recs = append(recs, page...)
		// A page ends at the limit or at 1 MB; only the second case needs another page.
		if !more || (limit > 0 && len(recs) >= limit) {
			return recs, nil
		}
	}
}

// queryRecords returns the records of the page of record items that in asks for, and moves in on to the next
// page; the bool is false after the last page.
func (s *Store) queryRecords(ctx context.Context, in *ddb.QueryInput, subject string) ([]*onboarding.Record, bool, error) {
	op := "Query " + aws.ToString(in.IndexName)
	out, err := s.api.Query(ctx, in)
	if err != nil {
		return nil, false, s.errorf(op, subject, err)
	}
	var recs []*onboarding.Record
	for _, av := range out.Items {
		r, err := unmarshalRecord(av)
		if err != nil {
			return nil, false, s.errorf(op, subject, err)
		}
		recs = append(recs, r)
	}
	in.ExclusiveStartKey = out.LastEvaluatedKey
	return recs, len(out.LastEvaluatedKey) > 0, nil
}

// ListByCustomer returns a page of the customer's records from GSI3, most recently created first, filtered
// by status when it is not empty. The cursor is onboarding.ListCursor of the last record returned; the
// query's start key is rebuilt from it and the caller's customer, so a cursor cannot lead into another
// customer's partition. Because a status filter applies after DynamoDB's page limit, pages are read until
// limit+1 matches are seen (the extra one says whether there is a next page) or the index ends.
func (s *Store) ListByCustomer(ctx context.Context, customerRef string, status onboarding.Status, limit int, cursor string) ([]*onboarding.Record, string, error) {
	subject := "customer " + customerRef
	if limit < 1 || limit > onboarding.MaxListLimit {
		return nil, "", s.errorf("list by customer", subject, fmt.Errorf("limit %d outside 1..%d", limit, onboarding.MaxListLimit))
	}
	recs := []*onboarding.Record{}
	if customerRef == "" {
		return recs, "", nil
	}
	in := &ddb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(schema.IndexGSI3),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": schema.AttrGSI3PK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: customerPrefix + customerRef}},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit + 1)),
	}
	if status != "" {
		in.FilterExpression = aws.String("#st = :st")
		in.ExpressionAttributeNames["#st"] = "status"
		in.ExpressionAttributeValues[":st"] = &types.AttributeValueMemberS{Value: string(status)}
	}
	if cursor != "" {
		created, id, err := onboarding.ParseListCursor(cursor)
		if err != nil {
			return nil, "", s.errorf("list by customer", subject, err)
		}
		in.ExclusiveStartKey = indexStartKey(schema.AttrGSI3PK, customerPrefix+customerRef, schema.AttrGSI3SK, created, id)
	}
	for {
		page, more, err := s.queryRecords(ctx, in, subject)
		if err != nil {
			return nil, "", err
		}
		recs = append(recs, page...)
		if len(recs) > limit {
			last := recs[limit-1]
			return recs[:limit], onboarding.ListCursor(last.CreatedAt, last.ID), nil
		}
		if !more {
			return recs, "", nil
		}
	}
}

// indexStartKey is the ExclusiveStartKey of a query or scan of an index (keys pkAttr, skAttr) that continues
// after the record id created at created, whose index partition key is pk.
func indexStartKey(pkAttr, pk, skAttr string, created time.Time, id string) map[string]types.AttributeValue {
	k := key(recordPK(id), recordSK)
	k[pkAttr], k[skAttr] = str(pk), str(formatTime(created)+"#"+id)
	return k
}

// ListWABAs returns a page of the ids of the WABAs that have records, in the order of a Scan of the WABA
// index (gsi2). Only record items carry gsi2 keys, so the index holds nothing else, and a Scan returns the
// items of one partition key (one WABA) together, in sort-key order: each WABA is taken at its first item
// and its further items are passed over. The Scan projects keys only; it reads the whole index over a full
// listing, which suits a daily job (a WABA has a handful of records). The cursor names the last WABA taken
// and the index key of its last item seen; the next page's Scan starts after that key, and items of that
// WABA found first (its records beyond the page end) are passed over too.
func (s *Store) ListWABAs(ctx context.Context, limit int, cursor string) ([]string, string, error) {
	if limit < 1 || limit > onboarding.MaxListLimit {
		return nil, "", s.errorf("list wabas", "", fmt.Errorf("limit %d outside 1..%d", limit, onboarding.MaxListLimit))
	}
	in := &ddb.ScanInput{
		TableName:            aws.String(s.table),
		IndexName:            aws.String(schema.IndexGSI2),
		ProjectionExpression: aws.String("#pk, #sk, #gpk, #gsk"),
		ExpressionAttributeNames: map[string]string{
			"#pk": schema.AttrPK, "#sk": schema.AttrSK, "#gpk": schema.AttrGSI2PK, "#gsk": schema.AttrGSI2SK,
		},
	}
	last := ""
	if cursor != "" {
		wabaPart, keyPart, _ := strings.Cut(cursor, ".")
		waba, err := onboarding.ParseWABACursor(wabaPart)
		if err != nil {
			return nil, "", s.errorf("list wabas", "", err)
		}
		created, id, err := onboarding.ParseListCursor(keyPart)
		if err != nil {
			return nil, "", s.errorf("list wabas", "", err)
		}
		in.ExclusiveStartKey = indexStartKey(schema.AttrGSI2PK, wabaPrefix+waba, schema.AttrGSI2SK, created, id)
		last = waba
	}
	ids := []string{}
	lastSK := ""
	for {
		out, err := s.api.Scan(ctx, in)
		if err != nil {
			return nil, "", s.errorf("Scan "+schema.IndexGSI2, "", err)
		}
		for _, it := range out.Items {
			pk, _ := it[schema.AttrGSI2PK].(*types.AttributeValueMemberS)
			sk, _ := it[schema.AttrGSI2SK].(*types.AttributeValueMemberS)
			if pk == nil || sk == nil || !strings.HasPrefix(pk.Value, wabaPrefix) {
				return nil, "", s.errorf("Scan "+schema.IndexGSI2, "", errors.New("index item without string gsi2 keys"))
			}
			waba := strings.TrimPrefix(pk.Value, wabaPrefix)
			if waba == last {
				lastSK = sk.Value
				continue
			}
			if len(ids) == limit {
				return ids, onboarding.WABACursor(last) + "." + base64.RawURLEncoding.EncodeToString([]byte(lastSK)), nil
			}
			ids = append(ids, waba)
			last, lastSK = waba, sk.Value
		}
		if len(out.LastEvaluatedKey) == 0 {
			return ids, "", nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// getRecord reads a record consistently; a missing one is onboarding.ErrNotFound (wrapped).
func (s *Store) getRecord(ctx context.Context, id string) (*onboarding.Record, error) {
	item, err := s.getItem(ctx, "onboarding "+id, key(recordPK(id), recordSK))
	if err != nil {
		return nil, err
	}
	r, err := unmarshalRecord(item)
	if err != nil {
		return nil, s.errorf("GetItem", "onboarding "+id, err)
	}
	return r, nil
}

// errorf adds the table and the operation (and its subject, when there is one) to err.
func (s *Store) errorf(op, subject string, err error) error {
	if subject != "" {
		op += " " + subject
	}
	return fmt.Errorf("dynamodb table %s: %s: %w", s.table, op, err)
}

// immutable refuses a change of the fields the guard key and the indexes are derived from.
func immutable(old, r *onboarding.Record) error {
	if old.WABAID != r.WABAID || (old.PhoneNumberID != r.PhoneNumberID && !onboarding.PhoneAssignable(old, r)) {
		return &onboarding.InvalidTransitionError{Reason: "waba_id and phone_number_id cannot change"}
	}
	if old.CustomerRef != r.CustomerRef {
		return &onboarding.InvalidTransitionError{Reason: "customer_ref cannot change"}
	}
	return nil
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		schema.AttrPK: &types.AttributeValueMemberS{Value: pk},
		schema.AttrSK: &types.AttributeValueMemberS{Value: sk},
	}
}

func number(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: fmt.Sprint(n)}
}

func isConditionalFailure(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

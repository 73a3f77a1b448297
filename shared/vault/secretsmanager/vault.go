// Package secretsmanager is the AWS Secrets Manager adapter of onboarding.Vault.
//
// The stage secret (Options.StageSecretID) holds the partner's app configuration, filled by the operator:
//
//	{"app_id": "...", "app_secret": "...", "previous_app_secret": "", "previous_app_secret_until": "",
//	 "system_token": "...", "system_user_id": "...", "credit_line_id": "...", "webhook_verify_token": "..."}
//
// Each customer WABA has a secret named Options.WABASecretPrefix + WABA id, written by this package:
//
//	{"business_token": "...", "token_expires_at": "<RFC 3339 or empty>", "pins": {"<phone_number_id>": "123456"},
//	 "updated_at": "<RFC 3339>"}
//
// Writes to a WABA secret are read-modify-write with a compare-and-swap: the new version is put under the
// staging label PendingStage, then AWSCURRENT is moved to it from the version that was read
// (UpdateSecretVersionStage with RemoveFromVersionId fails if AWSCURRENT moved meanwhile). So two signups for
// two phones of one WABA cannot overwrite each other's PIN; the loser re-reads, merges and tries again. Every
// write carries a ClientRequestToken derived from the secret name, the caller's idempotency key and the
// purpose of the write (never from a secret value), so a repeated write creates no second version.
//
// IAM: the stage secret needs secretsmanager:GetSecretValue (and DescribeSecret, used only to tell a secret
// scheduled for deletion from other invalid requests). WABA secrets need GetSecretValue, DescribeSecret,
// CreateSecret, TagResource (when Tags are set), PutSecretValue and UpdateSecretVersionStage on
// "<prefix>*", and kms:GenerateDataKey and kms:Decrypt on KMSKeyID when one is set; DeleteWABASecret needs
// DeleteSecret (and DescribeSecret).
//
// Do not enable aws.LogRequestWithBody or aws.LogResponseWithBody on the client: the bodies carry the secret
// values.
package secretsmanager

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/waes/onboarding/internal/vaultargs"
	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
)

// Defaults of Options.
const (
	DefaultAppConfigTTL     = 5 * time.Minute
	DefaultWABASecretTTL    = 30 * time.Second
	DefaultMaxWriteAttempts = 10
)

// PendingStage is the staging label a new WABA secret version carries until AWSCURRENT is moved to it. One
// label is shared by all writers: Secrets Manager moves it to the newest pending version, so it never
// accumulates.
const PendingStage = "ONBOARDING_PENDING"

const currentStage = "AWSCURRENT"

// API is the part of the Secrets Manager client the vault uses; *secretsmanager.Client implements it.
type API interface {
	GetSecretValue(ctx context.Context, in *sm.GetSecretValueInput, optFns ...func(*sm.Options)) (*sm.GetSecretValueOutput, error)
	PutSecretValue(ctx context.Context, in *sm.PutSecretValueInput, optFns ...func(*sm.Options)) (*sm.PutSecretValueOutput, error)
	CreateSecret(ctx context.Context, in *sm.CreateSecretInput, optFns ...func(*sm.Options)) (*sm.CreateSecretOutput, error)
	DescribeSecret(ctx context.Context, in *sm.DescribeSecretInput, optFns ...func(*sm.Options)) (*sm.DescribeSecretOutput, error)
	UpdateSecretVersionStage(ctx context.Context, in *sm.UpdateSecretVersionStageInput, optFns ...func(*sm.Options)) (*sm.UpdateSecretVersionStageOutput, error)
	DeleteSecret(ctx context.Context, in *sm.DeleteSecretInput, optFns ...func(*sm.Options)) (*sm.DeleteSecretOutput, error)
}

// Options configure a Vault.
type Options struct {
	// StageSecretID is the name or ARN of the stage secret. Required.
	StageSecretID string
	// WABASecretPrefix is prepended to a WABA id to name its secret, e.g. "wa-onboarding/dev/waba/".
	WABASecretPrefix string
	// KMSKeyID encrypts WABA secrets created by the vault (key id, ARN or alias); empty means the
	// aws/secretsmanager key.
	KMSKeyID string
	// Tags are set on WABA secrets created by the vault.
	Tags map[string]string
	// AppConfigTTL is how long the stage config is cached (default 5 minutes; negative disables the cache).
	AppConfigTTL time.Duration
	// WABASecretTTL is how long WABASecret results are cached (default 30 seconds; negative disables the
	// cache). Writes always read fresh, and invalidate the cache of the instance that wrote.
	WABASecretTTL time.Duration
	// MaxWriteAttempts bounds the read-merge-write loop of one write under contention (default 10). Each
	// round lets at least one concurrent writer through, so this is the number of concurrent writers to one
	// WABA secret that are sure to succeed.
	MaxWriteAttempts int
	// Clock tells the time for cache expiry and updated_at (default time.Now).
	Clock onboarding.Clock
	// Logger receives a line per write conflict (default: discard). Lines carry ids, never values.
	Logger *slog.Logger
}

// Vault is the Secrets Manager onboarding.Vault. It is safe for concurrent use; build one per process and
// share it, so that the caches are shared.
type Vault struct {
	client API
	opts   Options
	tags   []smtypes.Tag
	stage  *cache[onboarding.AppConfig]
	wabas  *cache[*wabaDoc]
}

var _ onboarding.Vault = (*Vault)(nil)

// New returns a Vault over client. optFns adjust a copy of opts.
func New(client API, opts Options, optFns ...func(*Options)) *Vault {
	o := opts
	o.Tags = make(map[string]string, len(opts.Tags))
	maps.Copy(o.Tags, opts.Tags)
	for _, fn := range optFns {
		fn(&o)
	}
	if o.AppConfigTTL == 0 {
		o.AppConfigTTL = DefaultAppConfigTTL
	}
	if o.WABASecretTTL == 0 {
		o.WABASecretTTL = DefaultWABASecretTTL
	}
	if o.MaxWriteAttempts <= 0 {
		o.MaxWriteAttempts = DefaultMaxWriteAttempts
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	o.Logger = logging.OrDiscard(o.Logger)
	v := &Vault{client: client, opts: o}
	for _, k := range slices.Sorted(maps.Keys(o.Tags)) { // sorted: the same request every time
		v.tags = append(v.tags, smtypes.Tag{Key: aws.String(k), Value: aws.String(o.Tags[k])})
	}
	v.stage = newCache(o.AppConfigTTL, o.Clock, v.fetchAppConfig)
	v.wabas = newCache(o.WABASecretTTL, o.Clock, v.fetchWABASecret)
	return v
}

func wrap(op, secretID string, err error) error {
	return fmt.Errorf("secretsmanager vault: %s %s: %w", op, secretID, err)
}

// errScheduledForDeletion: a WABA secret cannot be written while it is scheduled for deletion. Restoring it
// (aws secretsmanager restore-secret) or letting the deletion complete is an operator's decision: the
// secret may have been deleted on purpose, at an offboarding.
var errScheduledForDeletion = errors.New("the secret is scheduled for deletion: restore it or wait until the deletion completes")

// AppConfig returns the stage configuration, cached for AppConfigTTL. Concurrent callers share one fetch. A
// missing stage secret wraps onboarding.ErrNotFound; a malformed one is a *SecretFormatError.
func (v *Vault) AppConfig(ctx context.Context) (onboarding.AppConfig, error) {
	id := v.opts.StageSecretID
	if id == "" {
		return onboarding.AppConfig{}, fmt.Errorf("secretsmanager vault: %s: Options.StageSecretID is not set", vaultargs.OpAppConfig)
	}
	return v.stage.get(ctx, id)
}

func (v *Vault) fetchAppConfig(ctx context.Context, id string) (onboarding.AppConfig, error) {
	value, _, state, err := v.readString(ctx, id)
	switch {
	case err != nil:
		return onboarding.AppConfig{}, wrap(vaultargs.OpAppConfig, id, err)
	case state != present:
		return onboarding.AppConfig{}, wrap(vaultargs.OpAppConfig, id, onboarding.ErrNotFound)
	}
	cfg, err := parseStageSecret(id, value)
	if err != nil {
		return onboarding.AppConfig{}, fmt.Errorf("secretsmanager vault: %s: %w", vaultargs.OpAppConfig, err)
	}
	return cfg, nil
}

// WABASecret returns the WABA's secret (cached for WABASecretTTL), or an error wrapping onboarding.ErrNotFound
// when it does not exist or is scheduled for deletion.
func (v *Vault) WABASecret(ctx context.Context, wabaID string) (*onboarding.WABASecret, error) {
	if err := vaultargs.WABAID(wabaID); err != nil {
		return nil, fmt.Errorf("secretsmanager vault: %s: %w", vaultargs.OpWABASecret, err)
	}
	d, err := v.wabas.get(ctx, v.secretName(wabaID))
	if err != nil {
		return nil, err
	}
	return d.secret(), nil
}

// fetchWABASecret reads a WABA secret for the cache. The cached document is never changed afterwards.
func (v *Vault) fetchWABASecret(ctx context.Context, name string) (*wabaDoc, error) {
	d, state, err := v.readDoc(ctx, name)
	switch {
	case err != nil:
		return nil, wrap(vaultargs.OpWABASecret, name, err)
	case state != present:
		return nil, wrap(vaultargs.OpWABASecret, name, onboarding.ErrNotFound)
	}
	return d, nil
}

// PutBusinessToken stores the business token and its expiry (zero: none), keeping the PINs. A call whose
// token and expiry are already stored writes nothing.
func (v *Vault) PutBusinessToken(ctx context.Context, wabaID string, token onboarding.Secret, expiresAt time.Time, idempotencyKey string) error {
	c, err := vaultargs.PutBusinessToken(wabaID, token, expiresAt, idempotencyKey)
	if err != nil {
		return fmt.Errorf("secretsmanager vault: %s: %w", vaultargs.OpPutBusinessToken, err)
	}
	_, err = v.update(ctx, wabaID, idempotencyKey, c, false)
	return err
}

// EnsurePIN stores candidate as the phone's PIN unless one is stored already, and returns the stored PIN,
// as read back from Secrets Manager after the write.
func (v *Vault) EnsurePIN(ctx context.Context, wabaID, phoneNumberID string, candidate onboarding.Secret, idempotencyKey string) (onboarding.Secret, error) {
	c, err := vaultargs.EnsurePIN(wabaID, phoneNumberID, candidate, idempotencyKey)
	if err != nil {
		return onboarding.Secret{}, fmt.Errorf("secretsmanager vault: %s: %w", vaultargs.OpEnsurePIN, err)
	}
	d, err := v.update(ctx, wabaID, idempotencyKey, c, true)
	if err != nil {
		return onboarding.Secret{}, err
	}
	return d.PINs[phoneNumberID], nil
}

// SetPIN stores pin as the phone's PIN, replacing any stored one (the partner gave it explicitly). Not
// verified after writing: a later SetPIN may legitimately replace it.
func (v *Vault) SetPIN(ctx context.Context, wabaID, phoneNumberID string, pin onboarding.Secret, idempotencyKey string) error {
	c, err := vaultargs.SetPIN(wabaID, phoneNumberID, pin, idempotencyKey)
	if err != nil {
		return fmt.Errorf("secretsmanager vault: %s: %w", vaultargs.OpSetPIN, err)
	}
	_, err = v.update(ctx, wabaID, idempotencyKey, c, false)
	return err
}

// update applies c to the WABA's secret: read (fresh), apply, write with a compare-and-swap on the version
// read, and repeat on a conflict, at most MaxWriteAttempts times. It returns the document that holds the
// change. verify reads the secret back after writing and merges again if the change is missing: only for
// changes that no later writer undoes (a PIN is never replaced); a token may legitimately be replaced by a
// newer one, and re-applying the older one would fight it.
func (v *Vault) update(ctx context.Context, wabaID, key string, c vaultargs.Change, verify bool) (*wabaDoc, error) {
	name := v.secretName(wabaID)
	var (
		cur         *wabaDoc
		state       readState
		haveRead    bool
		createLost  bool // CreateSecret said "exists" but the secret has no current version to compare against
		lastReason  string
		err         error
		maxAttempts = v.opts.MaxWriteAttempts
	)
	for attempt := range maxAttempts {
		if !haveRead {
			if cur, state, err = v.readDoc(ctx, name); err != nil {
				return nil, wrap(c.Op, name, err)
			}
		}
		haveRead = false
		if state == scheduledForDeletion {
			return nil, wrap(c.Op, name, errScheduledForDeletion)
		}
		next := newWABADoc()
		if state == present {
			next = cur.clone()
		}
		if !c.Apply(&next.WABASecret) {
			return next, nil // already there: nothing to write
		}
		next.updatedAt = v.opts.Clock().UTC()
		var body string
		if body, err = next.marshal(); err != nil {
			return nil, wrap(c.Op, name, err)
		}
		token := requestToken(name, c.Purpose, key, attempt)

		var reason string
		switch {
		case state == absent && !createLost:
			reason, err = v.create(ctx, name, wabaID, body, token)
			createLost = reason != ""
		case state == absent:
			reason, err = v.put(ctx, name, body, token, "")
		default:
			reason, err = v.put(ctx, name, body, token, cur.versionID)
		}
		// Whatever happened, this instance's cached copy may be stale now.
		v.wabas.invalidate(name)
		if err != nil {
			return nil, wrap(c.Op, name, err)
		}
		if reason == "" && verify {
			if cur, state, err = v.readDoc(ctx, name); err != nil {
				return nil, wrap(c.Op, name, err)
			}
			if state == present && !c.Apply(&cur.clone().WABASecret) {
				return cur, nil
			}
			haveRead = true // the next round starts from this read
			reason = "change missing on read-back"
		}
		if reason == "" {
			return next, nil
		}
		lastReason = reason
		v.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "vault write conflict; re-reading and merging",
			slog.String("operation", c.Op), slog.String("waba_id", wabaID),
			slog.Int("attempt", attempt+1), slog.String("conflict", reason))
	}
	return nil, wrap(c.Op, name, fmt.Errorf("gave up after %d attempts, concurrent writers kept changing the secret (last: %s): %w",
		maxAttempts, lastReason, onboarding.ErrVersionConflict))
}

// create writes the first version of a WABA secret. A non-empty reason reports a conflict to resolve by
// re-reading: the secret exists (a concurrent writer, or an earlier run of this write), or it is
// scheduled for deletion.
func (v *Vault) create(ctx context.Context, name, wabaID, body, token string) (string, error) {
	in := &sm.CreateSecretInput{
		Name:               aws.String(name),
		SecretString:       aws.String(body),
		ClientRequestToken: aws.String(token),
		Description:        aws.String("WhatsApp Business Account " + wabaID + ": business token and phone number PINs (written by the onboarding service)"),
		Tags:               v.tags,
	}
	if v.opts.KMSKeyID != "" {
		in.KmsKeyId = aws.String(v.opts.KMSKeyID)
	}
	_, err := v.client.CreateSecret(ctx, in)
	switch {
	case err == nil:
		return "", nil
	case is[*smtypes.ResourceExistsException](err):
		return "secret exists", nil
	case is[*smtypes.InvalidRequestException](err):
		return "create refused (scheduled for deletion?)", nil
	default:
		return "", fmt.Errorf("create secret: %w", err)
	}
}

// put writes a new version under PendingStage and moves AWSCURRENT to it from readVersion, the version the
// change was computed from. If AWSCURRENT has moved on, the move fails and the caller re-reads. With no
// readVersion (a secret that exists without a current version, created empty by hand) there is nothing to
// compare against, so the version becomes current directly.
func (v *Vault) put(ctx context.Context, name, body, token, readVersion string) (string, error) {
	if token == readVersion {
		// The current version carries this token yet lacks the change: a newer write reused it. Move on to
		// the next attempt's token.
		return "token already current", nil
	}
	in := &sm.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String(body), ClientRequestToken: aws.String(token)}
	if readVersion != "" {
		in.VersionStages = []string{PendingStage}
	}
	_, err := v.client.PutSecretValue(ctx, in)
	if reason := putConflict(err); reason != "" {
		return reason, nil
	}
	if err != nil {
		return "", fmt.Errorf("put secret value: %w", err)
	}
	if readVersion == "" {
		return "", nil
	}
	_, err = v.client.UpdateSecretVersionStage(ctx, &sm.UpdateSecretVersionStageInput{
		SecretId:            aws.String(name),
		VersionStage:        aws.String(currentStage),
		MoveToVersionId:     aws.String(token),
		RemoveFromVersionId: aws.String(readVersion),
	})
	switch {
	case err == nil:
		return "", nil
	case is[*smtypes.InvalidParameterException](err), is[*smtypes.InvalidRequestException](err), is[*smtypes.ResourceNotFoundException](err):
		return "AWSCURRENT moved since the read", nil
	default:
		return "", fmt.Errorf("update secret version stage: %w", err)
	}
}

// putConflict classifies a PutSecretValue error that a re-read resolves: the token names an existing version
// with other content (Secrets Manager answers ResourceExistsException, or InvalidRequestException), or the
// secret was deleted or scheduled for deletion meanwhile.
func putConflict(err error) string {
	switch {
	case is[*smtypes.ResourceExistsException](err):
		return "version token exists with other content"
	case is[*smtypes.InvalidRequestException](err):
		return "put refused (token reused, or scheduled for deletion?)"
	case is[*smtypes.ResourceNotFoundException](err):
		return "secret deleted"
	}
	return ""
}

// is tells whether err wraps an E.
func is[E error](err error) bool {
	_, ok := errors.AsType[E](err)
	return ok
}

type readState int

const (
	absent readState = iota
	present
	scheduledForDeletion
)

// readDoc reads and parses the current version of a WABA secret, bypassing the cache.
func (v *Vault) readDoc(ctx context.Context, name string) (*wabaDoc, readState, error) {
	value, version, state, err := v.readString(ctx, name)
	if err != nil || state != present {
		return nil, state, err
	}
	d, err := parseWABASecret(name, value)
	if err != nil {
		return nil, state, err
	}
	d.versionID = version
	return d, present, nil
}

// readString reads the current SecretString of a secret and its version id.
func (v *Vault) readString(ctx context.Context, id string) (value, version string, state readState, err error) {
	out, err := v.client.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String(id)})
	switch {
	case err == nil:
	case is[*smtypes.ResourceNotFoundException](err):
		return "", "", absent, nil
	case is[*smtypes.InvalidRequestException](err) && v.deletionScheduled(ctx, id):
		return "", "", scheduledForDeletion, nil
	default:
		return "", "", absent, fmt.Errorf("get secret value: %w", err)
	}
	if out.SecretString == nil {
		return "", "", present, &SecretFormatError{SecretID: id, Reason: "has no SecretString (binary secrets are not supported)"}
	}
	return *out.SecretString, aws.ToString(out.VersionId), present, nil
}

// deletionScheduled tells whether the secret is scheduled for deletion: GetSecretValue then answers
// InvalidRequestException, which it also answers for other reasons.
func (v *Vault) deletionScheduled(ctx context.Context, id string) bool {
	out, err := v.client.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(id)})
	return err == nil && out.DeletedDate != nil
}

func (v *Vault) secretName(wabaID string) string { return v.opts.WABASecretPrefix + wabaID }

// DeleteWABASecret deletes the WABA's secret at once, without a recovery window
// (ForceDeleteWithoutRecovery): the partner was removed from the WABA, so Meta no longer honours its business
// token, and a secret scheduled for deletion would keep the same customer from onboarding again (its name
// cannot be reused until the window ends). The cost: the phones' two-step PINs are gone too, so a later
// onboarding of the same number that does not pass its PIN generates a new one, and Meta answers 133005 if
// two-step verification is still set with the old one. A missing secret, or one already scheduled for
// deletion, is success.
func (v *Vault) DeleteWABASecret(ctx context.Context, wabaID string) error {
	if err := vaultargs.WABAID(wabaID); err != nil {
		return wrap(vaultargs.OpDeleteWABASecret, wabaID, err)
	}
	name := v.secretName(wabaID)
	_, err := v.client.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String(name), ForceDeleteWithoutRecovery: aws.Bool(true)})
	switch {
	case err == nil, is[*smtypes.ResourceNotFoundException](err):
	case is[*smtypes.InvalidRequestException](err) && v.deletionScheduled(ctx, name):
	default:
		return wrap(vaultargs.OpDeleteWABASecret, name, fmt.Errorf("delete secret: %w", err))
	}
	v.wabas.invalidate(name)
	return nil
}

// requestToken derives the ClientRequestToken of a write: the hex SHA-256 (64 characters, within Secrets
// Manager's 32 to 64) of the secret name, the purpose, the caller's idempotency key and the attempt. It
// never includes a secret value: tokens become version ids, visible in CloudTrail and DescribeSecret, and a
// hash of a 6-digit PIN is reversed in a millisecond.
func requestToken(secretName, purpose, key string, attempt int) string {
	h := sha256.New()
	for _, part := range []string{"onboarding-vault/v1", secretName, purpose, key, strconv.Itoa(attempt)} {
		// Length-prefixed, so that no two different tuples hash the same bytes.
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write([]byte(part))
	}
	return hex.EncodeToString(h.Sum(nil))
}

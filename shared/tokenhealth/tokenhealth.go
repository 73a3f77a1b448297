// Package tokenhealth is the periodic check of the tokens the service holds: it asks Meta's debug_token
// about each onboarded WABA's business token and about the partner's system token, and for a token that is
// invalid or ends soon it publishes token.invalid or token.expiring (docs/events.md), marks the WABA's
// onboardings reauth_required and logs a line carrying metric=UnhealthyMetric, which the stack counts and
// alarms on. The scheduled function token_health and the local runner both run Checker.Run.
package tokenhealth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/partnerevents"
)

// UnhealthyMetric is the stable key of the log line written for each invalid or expiring token: the line
// carries metric=<this>, which the stack's CloudWatch metric filter counts and alarms on. Do not rename it
// without changing the stack.
const UnhealthyMetric = "TokenUnhealthy"

// Defaults of Config.
const (
	// DefaultWarnWithin is how long before a token (or its data access) ends it counts as expiring.
	DefaultWarnWithin = 7 * 24 * time.Hour
	// DefaultGraphBudget bounds each debug_token call, its retries of transient and throttled errors included.
	DefaultGraphBudget = 20 * time.Second
	// pageSize is the number of WABAs read per ListWABAs page.
	pageSize = onboarding.MaxListLimit
	// claimLease and claimTTL bound the publish claims: a run that died while publishing is taken over
	// after claimLease; a claim is kept for two days, beyond the day its id names.
	claimLease = 5 * time.Minute
	claimTTL   = 48 * time.Hour
)

// State is what the check concluded about a token.
type State string

// Token states.
const (
	StateValid    State = "valid"
	StateExpiring State = "expiring"
	StateInvalid  State = "invalid"
)

// Reasons of the unhealthy states (the events' reason field).
const (
	ReasonInvalid            = "invalid"
	ReasonExpired            = "expired"
	ReasonOtherApp           = "other_app"
	ReasonExpiresSoon        = "expires_soon"
	ReasonDataAccessExpiring = "data_access_expiring"
	ReasonDataAccessExpired  = "data_access_expired"
)

// subcodeExpired is Meta's error_subcode of an expired session.
const subcodeExpired = 463

// tokenTypeSystemUser is debug_token's type of system user tokens, the kind Embedded Signup grants.
const tokenTypeSystemUser = "SYSTEM_USER"

// Assess judges a debug_token answer at now: invalid when Meta says so, when it ended (expires_at passed)
// or when it belongs to another app than appID; expiring when it ends within warnWithin, or when its data
// access does (a passed data access date only warns: Meta alone decides validity); valid otherwise.
// expires_at zero means the token never expires. Meta's data access expiry applies to user access tokens,
// not to system user tokens, so data_access_expires_at is not judged for those.
func Assess(d *graph.DebugTokenOutput, appID string, now time.Time, warnWithin time.Duration) (State, string) {
	horizon := now.Add(warnWithin)
	dataAccess := d.DataAccessExpiresAt
	if d.Type == tokenTypeSystemUser {
		dataAccess = time.Time{}
	}
	switch {
	case !d.IsValid && d.ErrorSubcode == subcodeExpired:
		return StateInvalid, ReasonExpired
	case !d.IsValid:
		return StateInvalid, ReasonInvalid
	case !d.ExpiresAt.IsZero() && !d.ExpiresAt.After(now):
		return StateInvalid, ReasonExpired
	case appID != "" && d.AppID != "" && d.AppID != appID:
		return StateInvalid, ReasonOtherApp
	case !d.ExpiresAt.IsZero() && d.ExpiresAt.Before(horizon):
		return StateExpiring, ReasonExpiresSoon
	case !dataAccess.IsZero() && !dataAccess.After(now):
		return StateExpiring, ReasonDataAccessExpired
	case !dataAccess.IsZero() && dataAccess.Before(horizon):
		return StateExpiring, ReasonDataAccessExpiring
	}
	return StateValid, ""
}

// GraphAPI is the part of the Graph client the check uses.
type GraphAPI interface {
	DebugToken(ctx context.Context, in *graph.DebugTokenInput, optFns ...func(*graph.Options)) (*graph.DebugTokenOutput, error)
}

// Claimer is the insert-first dedupe of the webhook store, which keeps a second run on the same day from
// publishing an event again.
type Claimer interface {
	ClaimEvent(ctx context.Context, key string, now time.Time, lease, ttl time.Duration) (onboarding.ClaimResult, error)
	CompleteEvent(ctx context.Context, key string, now time.Time, ttl time.Duration) error
}

// Config tunes a Checker.
type Config struct {
	// WarnWithin is how long before its end a token counts as expiring (default DefaultWarnWithin).
	WarnWithin time.Duration
	// GraphBudget bounds each debug_token call with its retries (default DefaultGraphBudget).
	GraphBudget time.Duration
}

// Checker runs the token health check. Build it with New.
type Checker struct {
	store     onboarding.Store
	claims    Claimer
	vault     onboarding.Vault
	graph     GraphAPI
	publisher partnerevents.Publisher
	log       *slog.Logger
	clock     onboarding.Clock
	config    Config
}

// New returns a Checker. publisher nil publishes nothing; log nil discards; clock nil is time.Now.
func New(store onboarding.Store, claims Claimer, vault onboarding.Vault, g GraphAPI, publisher partnerevents.Publisher,
	log *slog.Logger, clock onboarding.Clock, cfg Config) *Checker {
	if publisher == nil {
		publisher = partnerevents.Discard{}
	}
	if clock == nil {
		clock = time.Now
	}
	if cfg.WarnWithin <= 0 {
		cfg.WarnWithin = DefaultWarnWithin
	}
	if cfg.GraphBudget <= 0 {
		cfg.GraphBudget = DefaultGraphBudget
	}
	return &Checker{store: store, claims: claims, vault: vault, graph: g, publisher: publisher, log: logging.OrDiscard(log), clock: clock, config: cfg}
}

// Report counts what one run found (the token_health function's result).
type Report struct {
	// Checked counts the tokens Meta answered for (the system token included); Valid, Expiring and Invalid
	// split them.
	Checked  int `json:"checked"`
	Valid    int `json:"valid"`
	Expiring int `json:"expiring"`
	Invalid  int `json:"invalid"`
	// Skipped counts WABAs not checked: newest onboarding OFFBOARDED, or no token stored.
	Skipped int `json:"skipped"`
	// Failed counts checks that could not be made or finished (Graph, vault, store or bus errors): left to
	// the next run.
	Failed int `json:"failed"`
	// Published counts the events published; Marked the onboardings newly marked reauth_required.
	Published int `json:"published"`
	Marked    int `json:"marked"`
}

// ErrIncomplete says that a run could not check, mark or publish for every token (Report.Failed); the
// others were handled.
var ErrIncomplete = errors.New("token health check incomplete")

// Run checks the system token and every onboarded WABA's business token. It returns ErrIncomplete (wrapped)
// when some could not be checked, and an error when the WABAs could not be listed or the stage config read.
func (c *Checker) Run(ctx context.Context) (Report, error) {
	var rep Report
	cfg, err := c.vault.AppConfig(ctx)
	if err != nil {
		return rep, fmt.Errorf("token health: reading the stage config: %w", err)
	}
	appToken := onboarding.NewSecret(cfg.AppID + "|" + cfg.AppSecret.Reveal())
	if !cfg.SystemToken.IsZero() {
		c.checkSystem(ctx, cfg, appToken, &rep)
	}
	seen := map[string]bool{}
	cursor := ""
	for {
		wabas, next, err := c.store.ListWABAs(ctx, pageSize, cursor)
		if err != nil {
			return rep, fmt.Errorf("token health: listing WABAs: %w", err)
		}
		for _, waba := range wabas {
			if seen[waba] {
				continue
			}
			seen[waba] = true
			if err := ctx.Err(); err != nil {
				return rep, fmt.Errorf("token health: %w", err)
			}
			c.checkWABA(ctx, cfg, appToken, waba, &rep)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	c.log.InfoContext(ctx, "token health check done", "checked", rep.Checked, "valid", rep.Valid, "expiring", rep.Expiring,
		"invalid", rep.Invalid, "skipped", rep.Skipped, "failed", rep.Failed, "published", rep.Published, "marked", rep.Marked)
	if rep.Failed > 0 {
		return rep, fmt.Errorf("token health: %d checks, marks or publishes failed (left to the next run): %w", rep.Failed, ErrIncomplete)
	}
	return rep, nil
}

// debug asks Meta about token, retrying transient and throttled Graph errors within the budget.
func (c *Checker) debug(ctx context.Context, token, appToken onboarding.Secret) (*graph.DebugTokenOutput, error) {
	return c.graph.DebugToken(ctx, &graph.DebugTokenInput{InputToken: token, AccessToken: appToken}, func(o *graph.Options) {
		o.Retry.RetryGraphErrors = true
		o.Retry.Budget = c.config.GraphBudget
	})
}

func (c *Checker) checkSystem(ctx context.Context, cfg onboarding.AppConfig, appToken onboarding.Secret, rep *Report) {
	d, err := c.debug(ctx, cfg.SystemToken, appToken)
	if err != nil {
		rep.Failed++
		c.logGraphError(ctx, "system token not checked", partnerevents.TokenSystem, "", err)
		return
	}
	state, reason := Assess(d, cfg.AppID, c.clock(), c.config.WarnWithin)
	rep.count(state)
	if state == StateValid {
		return
	}
	ev := c.event(state, reason, partnerevents.TokenSystem, nil, "", d)
	// The system token is the partner's own: the operator renews it in the stage secret.
	c.logUnhealthy(ctx, ev, "renew the system user token in Business Manager and put it in the stage secret (docs/deploy.md)")
	c.publish(ctx, ev, rep)
}

func (c *Checker) checkWABA(ctx context.Context, cfg onboarding.AppConfig, appToken onboarding.Secret, waba string, rep *Report) {
	recs, err := c.store.FindByWABA(ctx, waba, 0)
	if err != nil {
		rep.Failed++
		c.log.ErrorContext(ctx, "token health: reading the WABA's onboardings", "waba_id", waba, "error", err)
		return
	}
	if len(recs) == 0 || recs[0].Status == onboarding.StatusOffboarded {
		rep.Skipped++
		return
	}
	secret, err := c.vault.WABASecret(ctx, waba)
	if errors.Is(err, onboarding.ErrNotFound) || (err == nil && (secret == nil || secret.BusinessToken.IsZero())) {
		rep.Skipped++
		return
	}
	if err != nil {
		rep.Failed++
		c.log.ErrorContext(ctx, "token health: reading the WABA's secret", "waba_id", waba, "error", err)
		return
	}
	d, err := c.debug(ctx, secret.BusinessToken, appToken)
	if err != nil {
		rep.Failed++
		c.logGraphError(ctx, "business token not checked", partnerevents.TokenBusiness, waba, err)
		return
	}
	state, reason := Assess(d, cfg.AppID, c.clock(), c.config.WarnWithin)
	rep.count(state)
	if state == StateValid {
		return
	}
	ev := c.event(state, reason, partnerevents.TokenBusiness, recs[0], waba, d)
	c.logUnhealthy(ctx, ev, "the customer must complete Embedded Signup again")
	// Mark first, publish after: an event always describes records already marked, and a failed mark
	// publishes nothing, so the next run tries both again.
	if !c.mark(ctx, recs, rep) {
		return
	}
	c.publish(ctx, ev, rep)
}

// mark sets ReauthRequired on the newest onboarding of each of the WABA's phone numbers (and of the WABA
// without one), except OFFBOARDED ones; one already marked is left alone. It reports whether all were done.
func (c *Checker) mark(ctx context.Context, recs []*onboarding.Record, rep *Report) bool {
	newest := map[string]bool{}
	ok := true
	for _, r := range recs { // newest first
		if newest[r.PhoneNumberID] {
			continue
		}
		newest[r.PhoneNumberID] = true
		if r.Status == onboarding.StatusOffboarded || r.ReauthRequired {
			continue
		}
		_, err := onboarding.Mutate(ctx, c.store, r.ID, func(rec *onboarding.Record) error {
			if rec.ReauthRequired || rec.Status == onboarding.StatusOffboarded {
				return onboarding.ErrNoChange
			}
			rec.ReauthRequired, rec.UpdatedAt = true, c.clock().UTC()
			return nil
		})
		switch {
		case err == nil:
			rep.Marked++
		case errors.Is(err, onboarding.ErrNoChange):
		default:
			ok = false
			rep.Failed++
			c.log.ErrorContext(ctx, "token health: marking the onboarding reauth_required", "onboarding_id", r.ID, "error", err)
		}
	}
	return ok
}

// publish publishes ev once per id: a claim on the id keeps a second run (or a concurrent one) from
// publishing it again; a publish that fails leaves the claim incomplete, so a later run takes it over.
func (c *Checker) publish(ctx context.Context, ev partnerevents.Event, rep *Report) {
	now := c.clock()
	res, err := c.claims.ClaimEvent(ctx, ev.ID, now, claimLease, claimTTL)
	if err != nil {
		rep.Failed++
		c.log.ErrorContext(ctx, "token health: claiming the event", "event_id", ev.ID, "error", err)
		return
	}
	if res == onboarding.ClaimDone || res == onboarding.ClaimBusy {
		return
	}
	if err := c.publisher.Publish(ctx, ev); err != nil {
		rep.Failed++
		c.log.ErrorContext(ctx, "token health: publishing the event", "event_id", ev.ID, "error", err)
		return
	}
	rep.Published++
	if err := c.claims.CompleteEvent(ctx, ev.ID, now, claimTTL); err != nil {
		// Published but not recorded: a later run may publish the same id again, which consumers dedupe.
		c.log.WarnContext(ctx, "token health: recording the published event", "event_id", ev.ID, "error", err)
	}
}

func (c *Checker) event(state State, reason, tokenType string, newest *onboarding.Record, waba string, d *graph.DebugTokenOutput) partnerevents.Event {
	f := partnerevents.TokenFacts{
		Type: partnerevents.TypeTokenExpiring, TokenType: tokenType, WABAID: waba, Reason: reason,
		ExpiresAt: d.ExpiresAt, DataAccessExpiresAt: d.DataAccessExpiresAt, At: c.clock(),
	}
	if state == StateInvalid {
		f.Type = partnerevents.TypeTokenInvalid
	}
	if newest != nil {
		f.OnboardingID, f.PhoneNumberID = newest.ID, newest.PhoneNumberID
	}
	if d.ErrorCode != 0 {
		f.Errors = []partnerevents.Error{{Code: d.ErrorCode, Message: d.ErrorMessage}}
	}
	return partnerevents.TokenEvent(f)
}

// logUnhealthy writes the metric line of an invalid or expiring token. It names the token by type and WABA,
// never by value.
func (c *Checker) logUnhealthy(ctx context.Context, ev partnerevents.Event, action string) {
	attrs := []slog.Attr{
		slog.String("metric", UnhealthyMetric), slog.String("event_type", ev.Type), slog.String("token_type", ev.TokenType),
		slog.String("reason", ev.Reason), slog.String("action", action),
	}
	if ev.WABAID != "" {
		attrs = append(attrs, slog.String("waba_id", ev.WABAID), slog.String("onboarding_id", ev.OnboardingID))
	}
	if ev.ExpiresAt != nil {
		attrs = append(attrs, slog.Time("expires_at", *ev.ExpiresAt))
	}
	level := slog.LevelWarn
	if ev.TokenType == partnerevents.TokenSystem && ev.Type == partnerevents.TypeTokenInvalid {
		level = slog.LevelError // every credit line share and offboarding needs it
	}
	c.log.LogAttrs(ctx, level, "token "+string(ev.Type[len("token."):]), attrs...)
}

// logGraphError logs a debug_token call that failed after the client's retries: the token stays as it was
// (a transient error says nothing about it); a permanent one on the call itself means the app token (the
// stage secret's app_id and app_secret) is refused, which the operator must fix.
func (c *Checker) logGraphError(ctx context.Context, msg, tokenType, waba string, err error) {
	attrs := []slog.Attr{slog.String("token_type", tokenType), slog.Any("error", err)}
	if waba != "" {
		attrs = append(attrs, slog.String("waba_id", waba))
	}
	level := slog.LevelWarn
	if ge, ok := graph.AsError(err); ok {
		attrs = append(attrs, slog.String("graph_class", ge.Class.String()), slog.Int("graph_code", ge.Code))
		if ge.Class == graph.ClassPermanent {
			level = slog.LevelError
			attrs = append(attrs, slog.String("action", "check app_id and app_secret in the stage secret: Meta refused the app token"))
		}
	}
	c.log.LogAttrs(ctx, level, "token health: "+msg, attrs...)
}

func (r *Report) count(s State) {
	r.Checked++
	switch s {
	case StateValid:
		r.Valid++
	case StateExpiring:
		r.Expiring++
	case StateInvalid:
		r.Invalid++
	}
}

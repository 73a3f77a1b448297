package stephandlers

import (
	"context"
	"strings"
	"time"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/onboarding"
)

// SyncWindow is how long after onboarding Meta accepts the coexistence syncs (error 2593108 afterwards).
const SyncWindow = 24 * time.Hour

// Notes of sync_business_app.
const (
	NoteSyncNotCoexistence = "not a WhatsApp Business app (coexistence) signup"
	NoteSyncNoPhone        = "no phone number to synchronise"
)

// SyncBusinessApp requests the one-time synchronisation of a WhatsApp Business app number's contacts
// (smb_app_state_sync), then of its message history (history), with POST /<PHONE_NUMBER_ID>/smb_app_data.
// Meta accepts each once per number and only within 24 hours of onboarding. Each call is recorded as started
// before it is sent and as done after it is answered; a call whose answer was lost is repeated only as a
// check, since Meta answers a repeat with 2593107 ("already synced"), which counts as done.
func (s *Service) SyncBusinessApp(ctx context.Context, in Input) (Output, error) {
	return s.run(ctx, in, onboarding.StepSyncBusinessApp, false, s.syncBusinessApp)
}

func (s *Service) syncBusinessApp(ctx context.Context, run *stepRun) (outcome, error) {
	rec := run.rec
	switch {
	case !rec.Event.Coexistence():
		return skipped(NoteSyncNotCoexistence), nil
	case rec.PhoneNumberID == "":
		return skipped(NoteSyncNoPhone), nil
	}
	if !(rec.Progress.StateSynced && rec.Progress.HistorySynced) && s.now().Sub(rec.CreatedAt) > SyncWindow {
		return outcome{}, permanent(onboarding.CodeBusinessAppSyncWindow,
			"Meta accepts the WhatsApp Business app sync only within 24 hours of onboarding; the customer must offboard and complete Embedded Signup again")
	}
	token, err := s.businessToken(ctx, rec)
	if err != nil {
		return outcome{}, err
	}
	var notes []string
	for _, sync := range []struct {
		typ   string
		label string
		done  func(*onboarding.Progress) *bool
		start func(*onboarding.Progress) **time.Time
	}{
		{graph.SyncStateSync, "contacts", func(p *onboarding.Progress) *bool { return &p.StateSynced },
			func(p *onboarding.Progress) **time.Time { return &p.StateSyncStarted }},
		{graph.SyncHistory, "history", func(p *onboarding.Progress) *bool { return &p.HistorySynced },
			func(p *onboarding.Progress) **time.Time { return &p.HistorySyncStarted }},
	} {
		if *sync.done(&run.rec.Progress) {
			notes = append(notes, sync.label+" sync requested")
			continue
		}
		if err := run.save(ctx, func(r *onboarding.Record) error {
			if *sync.start(&r.Progress) == nil {
				t := s.now()
				*sync.start(&r.Progress) = &t
			}
			return nil
		}); err != nil {
			return outcome{}, err
		}
		note := sync.label + " sync requested"
		out, err := s.graph.SMBAppData(ctx, &graph.SMBAppDataInput{PhoneNumberID: rec.PhoneNumberID, SyncType: sync.typ, AccessToken: token})
		if ge, ok := graph.AsError(err); ok {
			switch ge.Code {
			case graph.CodeSyncAlreadyDone:
				// Requested before: by our earlier attempt whose answer was lost, or by another onboarding.
				err, note = nil, sync.label+" sync already requested"
			case graph.CodeHistoryDeclined:
				err, note = nil, "history not shared by the business"
			case graph.CodeSyncWindowExpired:
				return outcome{}, &onboarding.PermanentError{StepError: onboarding.StepError{
					Code: onboarding.CodeBusinessAppSyncWindow, GraphCode: ge.Code, GraphSubcode: ge.Subcode, FBTraceID: ge.FBTraceID,
					Message: "Meta refused the " + sync.label + " sync (2593108): it must be requested within 24 hours of onboarding; the customer must offboard and complete Embedded Signup again"}}
			}
		}
		if err != nil {
			return outcome{}, err
		}
		if out != nil {
			note += " (request_id " + out.RequestID + ")"
		}
		if err := run.save(ctx, func(r *onboarding.Record) error {
			*sync.done(&r.Progress) = true
			return nil
		}); err != nil {
			return outcome{}, err
		}
		notes = append(notes, note)
	}
	return succeeded(strings.Join(notes, "; ")), nil
}

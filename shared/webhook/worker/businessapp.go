package worker

import (
	"context"
	"fmt"

	"github.com/waes/onboarding/shared/partnerevents"
	"github.com/waes/onboarding/shared/webhook"
)

// businessApp publishes a coexistence change: the app's contact changes as one business_app.contacts_synced
// event, each history chunk as a business_app.history event (declined: Meta's 2593109, a successful sync
// without history), each message echo as a message.echo event. The event ids derive from the change's
// dedupe key, so a redelivered change publishes the same ids. A value that does not decode is logged and
// dropped: Meta would send it again unchanged.
func (p *Processor) businessApp(ctx context.Context, ev webhook.Event) error {
	v, err := webhook.ParseBusinessApp(ev)
	if err != nil {
		p.logger.WarnContext(ctx, "coexistence webhook with an unexpected shape ignored", "field", ev.Field, "error", err.Error())
		return nil
	}
	phoneID := string(v.Metadata.PhoneNumberID)
	onboardingID := ""
	if rec, err := p.onboardingForPhone(ctx, phoneID); err != nil {
		return err
	} else if rec != nil {
		onboardingID = rec.ID
	}
	base := func(id, typ string) partnerevents.Event {
		e := partnerevents.Event{ID: id, Version: partnerevents.Version, Type: typ, Time: ev.Timestamp.UTC(),
			OnboardingID: onboardingID, WABAID: ev.EntryID, PhoneNumberID: phoneID}
		if e.Time.IsZero() {
			e.Time = p.now()
		}
		return e
	}
	var out []partnerevents.Event
	switch ev.Field {
	case webhook.FieldSMBAppStateSync:
		e := base(ev.Key, partnerevents.TypeBusinessAppContactsSynced)
		for _, s := range v.StateSync {
			if s.Type != "contact" {
				continue
			}
			e.Contacts = append(e.Contacts, partnerevents.Contact{PhoneNumber: s.Contact.PhoneNumber, Action: s.Action, FullName: s.Contact.FullName})
			if t := webhook.UnixTime(s.Metadata.Timestamp); !t.IsZero() && ev.Timestamp.IsZero() {
				e.Time = t
			}
		}
		if len(e.Contacts) > 0 {
			out = append(out, e)
		}
	case webhook.FieldHistory:
		for i, c := range v.History {
			e := base(fmt.Sprintf("%s:%d", ev.Key, i), partnerevents.TypeBusinessAppHistory)
			h := &partnerevents.History{Declined: c.Declined(), Threads: len(c.Threads)}
			if c.Metadata != nil {
				h.Phase, h.ChunkOrder, h.Progress = c.Metadata.Phase, c.Metadata.ChunkOrder, c.Metadata.Progress
			}
			for _, t := range c.Threads {
				h.Messages += len(t.Messages)
			}
			for _, er := range c.Errors {
				pe := partnerevents.Error{Code: er.Code, Title: er.Title, Message: er.Message}
				if er.ErrorData != nil {
					pe.Details = er.ErrorData.Details
				}
				e.Errors = append(e.Errors, pe)
			}
			e.History = h
			out = append(out, e)
		}
	case webhook.FieldSMBMessageEchoes:
		for _, m := range v.MessageEchoes {
			e := base("echo:"+m.ID, partnerevents.TypeMessageEcho)
			e.MessageID, e.From, e.To, e.MessageType = m.ID, m.From, m.To, m.Type
			if m.Text != nil {
				e.Text = m.Text.Body
			}
			if t := webhook.UnixTime(m.Timestamp); !t.IsZero() {
				e.Time = t
			}
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return p.publish(ctx, out...)
}

package stephandlers

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/waes/onboarding/shared/graph"
	"github.com/waes/onboarding/shared/onboarding"
)

// SendTestMessage replies to the tester's inbound message with a text message from the business number. The
// step stays RUNNING afterwards: it succeeds when the workflow sees the reply's status webhook and completes
// the onboarding as VERIFIED. The message id is recorded, so a re-run does not send a second message.
//
// One window remains where a message could be sent twice: Meta accepted the message but the Lambda died before
// the id was recorded. Meta has no way to look a sent message up, and a duplicate test message is harmless
// where a lost verification is not, so the retry sends again.
func (s *Service) SendTestMessage(ctx context.Context, in Input) (Output, error) {
	return s.run(ctx, in, onboarding.StepSendTestMessage, true, s.sendTestMessage)
}

func (s *Service) sendTestMessage(ctx context.Context, run *stepRun) (outcome, error) {
	rec := run.rec
	if !rec.WantsTest() {
		return skipped(NoteNoTestRecipient), nil
	}
	if rec.PhoneNumberID == "" {
		return skipped(NoteNoPhone), nil
	}
	if rec.TestMessageID != "" {
		return outcome{status: onboarding.StepRunning, note: "test message sent", messageID: rec.TestMessageID}, nil
	}
	body := s.config.TestMessageBody
	if body == "" {
		body = DefaultTestMessageBody
	}
	if n := utf8.RuneCountInString(body); n > graph.MaxTextBodyLength {
		return outcome{}, permanent(onboarding.CodeInvalidField, "the configured test message body is longer than 4096 characters")
	}
	to, recipient := replyTarget(rec)
	if to == "" && recipient == "" {
		return outcome{}, permanent(onboarding.CodeInvalidField, "the test message has no sender to reply to: neither a wa_id nor a business-scoped user id was recorded")
	}
	token, err := s.businessToken(ctx, rec)
	if err != nil {
		return outcome{}, err
	}
	if err := run.save(ctx, func(r *onboarding.Record) error {
		t := s.now()
		r.Progress.TestSendStarted = &t
		return nil
	}); err != nil {
		return outcome{}, err
	}
	out, err := s.graph.SendTextMessage(ctx, &graph.SendTextMessageInput{
		PhoneNumberID: rec.PhoneNumberID, To: to, Recipient: recipient, Body: body, AccessToken: token,
	})
	if err != nil {
		return outcome{}, err
	}
	if err := run.save(ctx, func(r *onboarding.Record) error { r.TestMessageID = out.MessageID; return nil }); err != nil {
		return outcome{}, err
	}
	return outcome{status: onboarding.StepRunning, note: "test message sent", messageID: out.MessageID}, nil
}

// replyTarget names who the reply goes to: the test message's sender by phone (wa_id) when Meta sent one,
// else by business-scoped user id (Meta's recipient field), else the test recipient the partner named.
func replyTarget(rec *onboarding.Record) (to, recipient string) {
	switch p := rec.Progress; {
	case p.TesterWAID != "" && onboarding.ValidE164("+"+strings.TrimPrefix(p.TesterWAID, "+")):
		return "+" + strings.TrimPrefix(p.TesterWAID, "+"), ""
	case p.TesterUserID != "" && onboarding.ValidBSUID(p.TesterUserID):
		return "", p.TesterUserID
	}
	return rec.TestRecipient, ""
}

// NoteNoTestRecipient is the skip reason of send_test_message when the partner asked for no test message.
const NoteNoTestRecipient = "no test message asked for"

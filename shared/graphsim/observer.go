package graphsim

import "time"

// Observer is told what happened in the simulated world that Meta would report by webhook. The webhook
// sender (signing and POSTing to the local /webhooks) implements it. The simulator calls it after releasing
// its lock and before answering the request that caused the event, from the request's goroutine:
// implementations that do slow work (HTTP) should hand off to a goroutine of their own.
type Observer interface {
	// PhoneRegistered: a number became registered for Cloud API. displayPhoneNumber is as the Graph API
	// shows it (e.g. "+1 555-224-2922").
	PhoneRegistered(wabaID, phoneNumberID, displayPhoneNumber string)
	// InboundMessage: a user (from: digits only, as Meta's wa_id) sent a text to the business number. The
	// simulator has already opened the 24-hour window.
	InboundMessage(wabaID, phoneNumberID, from, messageID, text string, at time.Time)
	// MessageSent: the business number sent messageID to the user (to: digits only); Meta would now send
	// the sent and delivered statuses.
	MessageSent(wabaID, phoneNumberID, to, messageID string, at time.Time)
	// BusinessAppSynced: Meta accepted a coexistence sync request of syncType (smb_app_state_sync or
	// history) for the WhatsApp Business app number; Meta would now send the smb_app_state_sync or history
	// webhooks.
	BusinessAppSynced(wabaID, phoneNumberID, display, syncType string, at time.Time)
}

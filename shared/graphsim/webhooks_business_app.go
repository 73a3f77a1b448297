package graphsim

import (
	"strconv"
	"time"
)

// SimContactNumber is the contact (digits only) the simulated WhatsApp Business app holds: the state sync
// reports it and the history holds one thread with it.
const SimContactNumber = "16505550199"

// BusinessAppSynced sends what Meta sends after an accepted coexistence sync: for smb_app_state_sync, an
// smb_app_state_sync webhook with the app's contact; for history, a history webhook with one thread (phase 0,
// progress 100), then an smb_message_echoes webhook of a message the business sends from the app.
func (w *WebhookSender) BusinessAppSynced(wabaID, phoneNumberID, _ string, syncType string, at time.Time) {
	ts := strconv.FormatInt(at.Unix(), 10)
	business := webhookDisplayNumber(phoneNumberID)
	base := func() map[string]any {
		return map[string]any{"messaging_product": "whatsapp", "metadata": metadata(phoneNumberID)}
	}
	switch syncType {
	case "smb_app_state_sync":
		v := base()
		v["state_sync"] = []any{map[string]any{
			"type":     "contact",
			"contact":  map[string]any{"full_name": "Simulated Contact", "first_name": "Simulated", "phone_number": SimContactNumber},
			"action":   "add",
			"metadata": map[string]any{"timestamp": ts},
		}}
		w.deliverLater(0, wabaID, "smb_app_state_sync", v)
	case "history":
		v := base()
		v["history"] = []any{map[string]any{
			"metadata": map[string]any{"phase": 0, "chunk_order": 1, "progress": 100},
			"threads": []any{map[string]any{"id": SimContactNumber, "messages": []any{map[string]any{
				"from": SimContactNumber, "id": newWAMID(), "timestamp": ts, "type": "text",
				"text": map[string]string{"body": "Hi, is the shop open today?"}, "history_context": map[string]string{"status": "READ"},
			}}}},
		}}
		w.deliverLater(0, wabaID, "history", v)
		e := base()
		e["message_echoes"] = []any{map[string]any{
			"from": business, "to": SimContactNumber, "id": newWAMID(), "timestamp": ts, "type": "text",
			"text": map[string]string{"body": "Yes, until 6 pm."},
		}}
		w.deliverLater(50*time.Millisecond, wabaID, "smb_message_echoes", e)
	}
}

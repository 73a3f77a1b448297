package webhook

import (
	"bytes"
	"fmt"
)

// batchPayload builds a realistic notification of n messages changes on one WABA, each with perChange
// items alternating between inbound text messages and delivery statuses, all with distinct wamids.
func batchPayload(n, perChange int) []byte { return spreadPayload(n, n*perChange) }

// spreadPayload builds n changes holding items items in all, spread as evenly as possible.
func spreadPayload(n, items int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[`)
	seq := 0
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},`)
		if i%2 == 0 {
			b.WriteString(`"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[`)
			for j := range itemsOf(i, n, items) {
				if j > 0 {
					b.WriteByte(',')
				}
				seq++
				fmt.Fprintf(&b, `{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEw%010dRgA=","timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color? Order %d, size M, please let me know."}}`, seq, seq)
			}
		} else {
			b.WriteString(`"statuses":[`)
			for j := range itemsOf(i, n, items) {
				if j > 0 {
					b.WriteByte(',')
				}
				seq++
				fmt.Fprintf(&b, `{"id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MUE5ODc2QjI0NDE0%010dA","status":"delivered","timestamp":"1750263774","recipient_id":"16505551234","conversation":{"id":"3a39e7cb1b7e5ddb7aa5d4d8a5a2c3b1","origin":{"type":"service"}},"pricing":{"billable":true,"pricing_model":"PMP","category":"service","type":"free_customer_service"}}`, seq)
			}
		}
		b.WriteString(`]},"field":"messages"}`)
	}
	b.WriteString(`]}]}`)
	return b.Bytes()
}

func itemsOf(i, n, items int) int {
	per := items / n
	if i < items%n {
		per++
	}
	return max(per, 1)
}

// payloadOfSize returns a batch of at most 1000 changes (Meta's limit) of just under size bytes.
func payloadOfSize(size int) []byte {
	per := len(spreadPayload(2, 2)) / 2 // bytes per change with one item, roughly
	changes := max(1, min(1000, size/per))
	lo, hi := changes, 4*size/per+changes // items: binary search for the largest payload that fits
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if len(spreadPayload(changes, mid)) <= size {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return spreadPayload(changes, lo)
}

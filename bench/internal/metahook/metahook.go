// Package metahook builds realistic WhatsApp Cloud API webhook bodies, shaped like Meta's (compact JSON,
// one entry per WABA, "messages" changes carrying either inbound messages with their contacts or message
// statuses with conversation and pricing), each with unique wamids so that every event is new to a deduping
// receiver. The load programs use it so that the peer and the project receive byte-identical payloads.
package metahook

import (
	"fmt"
	"strings"
)

// Default ids: the example WABA and phone of Meta's documents.
const (
	DefaultWABA         = "102290129340398"
	DefaultPhone        = "106540352242922"
	DefaultDisplayPhone = "15550783881"
)

// Event is one item a body carries: its dedupe key as the project's parser derives it ("message:<wamid>" or
// "status:<wamid>:<status>").
type Event struct {
	Key string
}

// Builder appends webhook items. Seq makes every wamid unique; callers give each builder its own range.
type Builder struct {
	WABA, Phone, Display string
	// Seq is the next sequence number used in a wamid.
	Seq int64
}

// New returns a Builder for the default WABA and phone, starting at seq.
func New(seq int64) *Builder {
	return &Builder{WABA: DefaultWABA, Phone: DefaultPhone, Display: DefaultDisplayPhone, Seq: seq}
}

var statuses = [...]string{"sent", "delivered", "read"}

// customer text of a realistic length (Meta's inbound text bodies run up to 4096 characters).
const text = "Hi! I ordered the blue running shoes last week (order #%d) and the tracking page still says " +
	"'label created'. Could you tell me when they will ship? I also wanted to ask whether the same model " +
	"comes in a wide fit, size 44, and if I can swap the colour to black before it leaves the warehouse. " +
	"If that is not possible, could you cancel the order and refund it to the same card? I would rather " +
	"order again than wait another week. My delivery address is the same as last time. " +
	"Thanks a lot, and have a nice day."

func (b *Builder) wamid(kind byte) string {
	b.Seq++
	// Same length and alphabet as Meta's base64 wamids.
	return "wamid.HBgLMTY1MDU1NTEyMzQVAgA" + string(kind) + "GBQzQTBG" + fmt.Sprintf("%020d", b.Seq) + "RgA="
}

// change appends a messages change to sb: one inbound text message (and its contact) when inbound is set,
// else one status of a business-sent message (with its conversation and pricing).
func (b *Builder) change(sb *strings.Builder, inbound bool) Event {
	ts := baseTS + b.Seq%100000
	fmt.Fprintf(sb, `{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"%s","phone_number_id":"%s"},`, b.Display, b.Phone)
	if inbound {
		id := b.wamid('S')
		fmt.Fprintf(sb, `"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"%s","timestamp":"%d","type":"text","text":{"body":"`+text+`"}}]},"field":"messages"}`,
			id, ts, b.Seq)
		return Event{Key: "message:" + id}
	}
	id := b.wamid('R')
	st := statuses[b.Seq%int64(len(statuses))]
	fmt.Fprintf(sb, `"statuses":[{"id":"%s","status":"%s","timestamp":"%d","recipient_id":"16505551234","biz_opaque_callback_data":"campaign=spring-2026;segment=returning;order=%d`+
		`;template=order_update_v3;locale=en_US;crm=salesforce;agent=bot-7;thread=2f8c1e9a-4b7d-4c1e-9f0a-6d2b3c4e5f60","conversation":{"id":"3a39e7cb1b7e5ddb7aa5d4d8a5a2c3b1","expiration_timestamp":"%d",`+
		`"origin":{"type":"service"}},"pricing":{"billable":true,"pricing_model":"PMP","category":"service","type":"free_customer_service"}}]},"field":"messages"}`,
		id, st, ts, b.Seq, ts+86400)
	return Event{Key: "status:" + id + ":" + st}
}

const baseTS = 1749416383

// open starts a body of about size bytes: the WABA's entry, up to its changes.
func (b *Builder) open(size int) *strings.Builder {
	sb := &strings.Builder{}
	sb.Grow(size)
	sb.WriteString(`{"object":"whatsapp_business_account","entry":[{"id":"` + b.WABA + `","changes":[`)
	return sb
}

// Single returns a webhook of about 1 KB with one change: an inbound text message when inbound is set, a
// message status otherwise.
func (b *Builder) Single(inbound bool) ([]byte, []Event) {
	sb := b.open(1100)
	ev := b.change(sb, inbound)
	sb.WriteString(`]}]}`)
	return []byte(sb.String()), []Event{ev}
}

// Batch returns a webhook of at most size bytes (and at most 1000 changes, Meta's limit) batching changes
// that alternate between inbound messages and statuses, as Meta batches them under load.
func (b *Builder) Batch(size int) ([]byte, []Event) {
	sb := b.open(size + 1100)
	var evs []Event
	const tail = len(`]}]}`)
	for i := 0; i < 1000; i++ {
		mark := sb.Len()
		saved := b.Seq
		if i > 0 {
			sb.WriteByte(',')
		}
		ev := b.change(sb, i%2 == 0)
		if sb.Len()+tail > size && i > 0 {
			// Undo the change that overflowed.
			s := sb.String()[:mark]
			sb.Reset()
			sb.WriteString(s)
			b.Seq = saved
			break
		}
		evs = append(evs, ev)
	}
	sb.WriteString(`]}]}`)
	return []byte(sb.String()), evs
}

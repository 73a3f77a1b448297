package graphsim

import (
	"fmt"
	"strconv"
	"time"
)

// ObserverFuncs adapts functions to Observer; nil fields are ignored (handy in tests).
type ObserverFuncs struct {
	OnPhoneRegistered func(wabaID, phoneNumberID, displayPhoneNumber string)
	OnInboundMessage  func(wabaID, phoneNumberID, from, messageID, text string, at time.Time)
	OnMessageSent     func(wabaID, phoneNumberID, to, messageID string, at time.Time)
	OnBusinessAppSync func(wabaID, phoneNumberID, display, syncType string, at time.Time)
}

// PhoneRegistered calls OnPhoneRegistered if set.
func (f ObserverFuncs) PhoneRegistered(wabaID, phoneNumberID, displayPhoneNumber string) {
	if f.OnPhoneRegistered != nil {
		f.OnPhoneRegistered(wabaID, phoneNumberID, displayPhoneNumber)
	}
}

// InboundMessage calls OnInboundMessage if set.
func (f ObserverFuncs) InboundMessage(wabaID, phoneNumberID, from, messageID, text string, at time.Time) {
	if f.OnInboundMessage != nil {
		f.OnInboundMessage(wabaID, phoneNumberID, from, messageID, text, at)
	}
}

// MessageSent calls OnMessageSent if set.
func (f ObserverFuncs) MessageSent(wabaID, phoneNumberID, to, messageID string, at time.Time) {
	if f.OnMessageSent != nil {
		f.OnMessageSent(wabaID, phoneNumberID, to, messageID, at)
	}
}

// BusinessAppSynced calls OnBusinessAppSync if set.
func (f ObserverFuncs) BusinessAppSynced(wabaID, phoneNumberID, display, syncType string, at time.Time) {
	if f.OnBusinessAppSync != nil {
		f.OnBusinessAppSync(wabaID, phoneNumberID, display, syncType, at)
	}
}

// String renders the fault in GRAPH_SIM_FAULTS syntax.
func (f Fault) String() string {
	what := strconv.Itoa(f.Code)
	switch f.Kind {
	case FaultTimeout:
		what = "timeout"
	case FaultHTTP500:
		what = "http500"
	}
	call := f.Call
	if f.Method != "" {
		call += "." + f.Method
	}
	return fmt.Sprintf("%s:%sx%d", call, what, f.Count)
}

// Package dynamodb is the DynamoDB implementation of onboarding.Store and onboarding.WebhookStore. It passes
// the contract tests of shared/store/storetest against dynalite (see the dynalitetest package), like the
// in-memory store does.
//
// # Table
//
// One table per stage (TableSchema; the CDK stack builds the same one from package schema's constants):
// string keys pk and sk, three global secondary indexes with projection ALL, on-demand billing, TTL on
// expires_at (N, epoch seconds) and point-in-time recovery. Items:
//
//	item               pk                           sk           other attributes
//	onboarding record  ONB#<id>                     RECORD       every Record field, version (N),
//	                                                             gsi1pk/gsi1sk, gsi2pk/gsi2sk,
//	                                                             gsi3pk/gsi3sk (with customer_ref)
//	active guard       ACTIVE#<waba_id>#<phone|->   GUARD        onboarding_id, acquired_at,
//	                                                             record_version (N), lease
//	event claim        EVT#<key>                    EVENT        lease_until, claim_id, done (BOOL),
//	                                                             attempts (N), completed_at, expires_at (N)
//	message status     MSG#<message_id>             STATUS       status, rank (N), updated_at, write_id,
//	                                                             expires_at (N)
//	pending wait       ONB#<onboarding_id>          WAIT#<kind>  onboarding_id, kind, task_token,
//	                                                             wait_expires_at, expires_at (N)
//	partner events     WABA#<waba_id>               PARTNER      waba_id, last_event, last_event_at,
//	                                                             <event>_at per event (partner_added_at)
//
// A record item holds every field of onboarding.Record as its own attribute, including Progress (a map) and
// Executions, which the domain keeps out of its JSON; steps are a list of maps. Times are RFC 3339 strings
// in UTC with a fixed nine-digit fraction (fixed width keeps them sortable as strings). version is the
// optimistic-concurrency version: Create writes 1, each Update writes version+1 conditioned on the old value.
//
// Indexes: gsi1 (gsi1pk "PHONE#<phone_number_id>", gsi1sk "<created_at>#<id>") serves FindByPhone, newest
// first; gsi2 (gsi2pk "WABA#<waba_id>", gsi2sk "<created_at>#<id>") serves FindByWABA, and a keys-only Scan
// of it serves ListWABAs (the daily token health check: gsi2 holds record items only); gsi3 (gsi3pk
// "CUST#<customer_ref>", gsi3sk "<created_at>#<id>") serves ListByCustomer. A record without a phone number
// (FINISH_ONLY_WABA) has no gsi1 keys, one without a customer_ref (partner authentication off) no gsi3
// keys. Records, guards and partner items never carry expires_at; event claims, message statuses and waits
// do. No webhook item has index keys.
//
// # Webhook items
//
// ClaimEvent is insert-first: a put conditioned on "attribute_not_exists(pk) OR expires_at <= :now"; on a
// conditional failure the existing item decides (done: ClaimDone; lease running: ClaimBusy; lease ended:
// a takeover conditioned on the lease_until read and done = false, ClaimRetry for its one winner). The item
// comes with the failure (ReturnValuesOnConditionCheckFailure ALL_OLD) on DynamoDB, or from a consistent
// read where it does not (dynalite). AdvanceMessageStatus is an update conditioned on
// "attribute_not_exists(pk) OR rank < :rank OR expires_at <= :now". TakeWait deletes with ReturnValues
// ALL_OLD conditioned on attribute_exists(pk). RecordPartnerEvent moves last_event only forward in time.
// Items whose expires_at has passed count as absent (DynamoDB's TTL deletes them lazily); TTLs are epoch
// seconds rounded up (webhookitem.TTL). claim_id and write_id let a write whose response was lost, and
// whose retry by the SDK then failed its own condition, recognise itself. docs/data-model.md has the detail.
//
// # One active onboarding per WABA and phone number
//
// The guard item of a WABA and phone number (phone "-" when there is none) names the onboarding that holds
// it and the version of the record write it was acquired for. Only conditional single-item writes maintain
// it, because dynalite implements no TransactWriteItems:
//
//   - Create of an active record puts the guard if absent. If it exists, the holder's record decides. The
//     holder wins, and the caller gets *onboarding.ActiveOnboardingError naming it, if its record is active,
//     or if its record is not yet written at record_version (missing, for a create; still inactive, for a
//     retry) and the guard is younger than Options.GuardStaleAfter: the holder is between its two writes.
//     Otherwise the guard is stale (an inactive holder, or one that died between its writes) and is taken
//     over with a put conditioned on the lease read, so that of concurrent takeovers exactly one succeeds.
//     Then the record is put if absent. A failed put does not prove nothing was written (a lost response,
//     then the SDK's retry failing the condition), so the record is read: the record as written means
//     success; another record (ErrVersionConflict: the id exists) or none means the acquisition is rolled
//     back with a delete conditioned on its lease; an unreadable one leaves the guard, which is safe.
//   - Update reads the record first (the conditional write makes that read authoritative); a write failing
//     its condition is re-read to tell ErrNotFound, ErrVersionConflict and its own lost response apart. Moving from an
//     inactive status into an active one (a retry of a FAILED onboarding) acquires the guard the same way,
//     for the new version, before the write; moving from an active status to an inactive one deletes the
//     guard after the write, conditioned on holder = this id and record_version below the new version, so a
//     newer acquisition by a concurrent retry survives. A failed or skipped release is harmless: a guard
//     whose holder is inactive is stale, and the next acquirer takes it over.
//
// The remaining window: a writer stalled for longer than GuardStaleAfter between its guard write and its
// record write can lose the guard to another onboarding and still write its record, leaving two active
// onboardings. A minute is far beyond the milliseconds between the two writes.
//
// # Errors
//
// Errors carry the table and the operation. Conditional-check failures become the domain's errors
// (onboarding.ErrVersionConflict, onboarding.ErrNotFound, *onboarding.ActiveOnboardingError); everything else,
// throttling included, is returned wrapped, and IsThrottled tells throttling apart so callers can treat it
// as transient. ThrottleError and Throttle make such errors for reliability tests.
package dynamodb

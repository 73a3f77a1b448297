package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/waes/onboarding/shared/onboarding"
)

// PhoneNumberFields are the phone number fields every phone call asks for.
const PhoneNumberFields = "id,display_phone_number,verified_name,platform_type,status,code_verification_status,is_on_biz_app,quality_rating"

const (
	allocationFields = "id,receiving_credential"
	wabaFields       = "id,name,currency,primary_funding_id,owner_business_info"
	// maxCodeLength bounds the Embedded Signup code; Meta's codes are a few hundred characters.
	maxCodeLength = 4096
	// maxURILength bounds the callback override URI.
	maxURILength = 2048
)

var taskPattern = regexp.MustCompile(`^[A-Z_]{1,64}$`)

// malformed reports a 2xx answer that lacks what the call needs: Meta most likely acted.
func malformed(o *Options, op *operation, what string) *Error {
	return &Error{Call: op.call, HTTPStatus: http.StatusOK, Class: ClassTransient, Sent: true, MalformedResponse: true,
		Message: fmt.Sprintf("%s /%s/%s: answer without %s", op.method, o.APIVersion, op.path, what)}
}

// builder turns a call's input into its request and the first input error (nil when the input is valid).
type builder[In any] func(in *In) (*operation, error)

// prepare checks a call in the order every call reports its errors: a nil input, then the per-call options,
// then the input checks of build.
func prepare[In any](c *Client, name string, in *In, optFns []func(*Options), build builder[In]) (*Options, *operation, error) {
	if in == nil {
		return nil, nil, &InputError{Call: name, Field: "input", Reason: "is nil"}
	}
	o, err := c.resolve(name, optFns)
	if err != nil {
		return nil, nil, err
	}
	op, err := build(in)
	if err != nil {
		return nil, nil, err
	}
	if op.jsonBody != nil {
		// The bodies are plain structs of strings, so an error here is a bug.
		if op.body, err = json.Marshal(op.jsonBody); err != nil {
			return nil, nil, fmt.Errorf("graph %s: encoding body: %w", name, err)
		}
	}
	op.call = name
	// The token goes first: a shorter secret scrubbed before it could leave part of it readable.
	op.secrets = append(secretValues(op.token), op.secrets...)
	return o, op, nil
}

// call runs one call under the retry policy and decodes its 2xx answer into a T. missing names what a
// decoded answer lacks ("" when it is complete); a lacking answer is reported as malformed.
func call[In, T any](ctx context.Context, c *Client, name string, in *In, optFns []func(*Options), build builder[In],
	missing func(*T) string) (*T, error) {
	o, op, err := prepare(c, name, in, optFns, build)
	if err != nil {
		return nil, err
	}
	var out T
	if err := c.do(ctx, o, op, &out); err != nil {
		return nil, err
	}
	if what := missing(&out); what != "" {
		return nil, malformed(o, op, what)
	}
	return &out, nil
}

// list runs a list call and reads every page (see listAll).
func list[In, T any](ctx context.Context, c *Client, name string, in *In, optFns []func(*Options), build builder[In]) ([]T, error) {
	o, op, err := prepare(c, name, in, optFns, build)
	if err != nil {
		return nil, err
	}
	return listAll[T](ctx, c, o, op)
}

type successBody struct {
	Success bool `json:"success"`
}

// post runs a call whose answer must be Meta's {"success":true}.
func post[In any](ctx context.Context, c *Client, name string, in *In, optFns []func(*Options), build builder[In]) error {
	_, err := call(ctx, c, name, in, optFns, build, func(r *successBody) string { return unless(r.Success, `"success": true`) })
	return err
}

// unless returns what when ok is false: the missing part of an answer.
func unless(ok bool, what string) string {
	if ok {
		return ""
	}
	return what
}

// firstError returns the first failed input check, in the order the call reports them.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// check returns an InputError on field unless ok.
func check(ok bool, call, field, reason string) error {
	if ok {
		return nil
	}
	return &InputError{Call: call, Field: field, Reason: reason}
}

// read is a GET of an object or edge with fields, idempotent.
func read(path, fields string, token onboarding.Secret) *operation {
	return &operation{method: http.MethodGet, path: path, mode: idempotent, query: url.Values{"fields": {fields}}, token: token}
}

type exchangeBody struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// ExchangeCode exchanges an Embedded Signup code for the customer's business token (GET
// /oauth/access_token with client_id, client_secret and code, as Meta documents it). It is never retried
// after a timeout: the code is single-use and may already be spent.
func (c *Client) ExchangeCode(ctx context.Context, in *ExchangeCodeInput, optFns ...func(*Options)) (*ExchangeCodeOutput, error) {
	r, err := call(ctx, c, CallOAuth, in, optFns, func(in *ExchangeCodeInput) (*operation, error) {
		return &operation{
				method: http.MethodGet, path: "oauth/access_token", mode: exchange,
				query: url.Values{
					"client_id":     {in.AppID},
					"client_secret": {in.AppSecret.Reveal()},
					"code":          {in.Code.Reveal()},
				},
				secrets: secretValues(in.AppSecret, in.Code),
			}, firstError(
				pathParam(CallOAuth, "app_id", in.AppID),
				check(!in.AppSecret.IsZero(), CallOAuth, "app_secret", "is required"),
				check(!in.Code.IsZero() && len(in.Code.Reveal()) <= maxCodeLength, CallOAuth, "code",
					fmt.Sprintf("must be 1 to %d bytes", maxCodeLength)))
	}, func(r *exchangeBody) string { return unless(r.AccessToken != "", "access_token") })
	if err != nil {
		return nil, err
	}
	return &ExchangeCodeOutput{AccessToken: onboarding.NewSecret(r.AccessToken), TokenType: r.TokenType, ExpiresIn: r.ExpiresIn}, nil
}

type debugTokenBody struct {
	Data *struct {
		AppID               idString        `json:"app_id"`
		Type                string          `json:"type"`
		Application         string          `json:"application"`
		DataAccessExpiresAt int64           `json:"data_access_expires_at"`
		ExpiresAt           int64           `json:"expires_at"`
		IsValid             bool            `json:"is_valid"`
		Scopes              []string        `json:"scopes"`
		GranularScopes      []GranularScope `json:"granular_scopes"`
		UserID              idString        `json:"user_id"`
		Error               *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Subcode int    `json:"subcode"`
		} `json:"error"`
	} `json:"data"`
}

// DebugToken inspects a token (GET /debug_token?input_token=..., authorised by AccessToken: the app token
// or the system token). An unknown or revoked token is not an error: IsValid is false.
func (c *Client) DebugToken(ctx context.Context, in *DebugTokenInput, optFns ...func(*Options)) (*DebugTokenOutput, error) {
	r, err := call(ctx, c, CallDebugToken, in, optFns, func(in *DebugTokenInput) (*operation, error) {
		return &operation{
				method: http.MethodGet, path: "debug_token", mode: idempotent,
				query: url.Values{"input_token": {in.InputToken.Reveal()}},
				token: in.AccessToken, secrets: secretValues(in.InputToken),
			}, check(!in.InputToken.IsZero() && validToken(in.InputToken.Reveal()), CallDebugToken, "input_token",
				"must be a non-empty token")
	}, func(r *debugTokenBody) string { return unless(r.Data != nil, "data") })
	if err != nil {
		return nil, err
	}
	d := r.Data
	out := &DebugTokenOutput{
		AppID: string(d.AppID), Application: d.Application, Type: d.Type, IsValid: d.IsValid,
		ExpiresAt: unixTime(d.ExpiresAt), DataAccessExpiresAt: unixTime(d.DataAccessExpiresAt),
		Scopes: d.Scopes, GranularScopes: d.GranularScopes, UserID: string(d.UserID),
	}
	if d.Error != nil {
		out.ErrorCode, out.ErrorSubcode = d.Error.Code, d.Error.Subcode
		out.ErrorMessage = sanitize(d.Error.Message, secretValues(in.AccessToken, in.InputToken))
	}
	return out, nil
}

func unixTime(s int64) time.Time {
	if s <= 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

// ListPhoneNumbers lists a WABA's phone numbers, following Meta's paging (only on the same host and path,
// at most MaxPages pages).
func (c *Client) ListPhoneNumbers(ctx context.Context, in *ListPhoneNumbersInput, optFns ...func(*Options)) (*ListPhoneNumbersOutput, error) {
	phones, err := list[ListPhoneNumbersInput, PhoneNumber](ctx, c, CallPhoneNumbers, in, optFns, func(in *ListPhoneNumbersInput) (*operation, error) {
		return read(joinPath(in.WABAID, "phone_numbers"), PhoneNumberFields, in.AccessToken),
			pathParam(CallPhoneNumbers, "waba_id", in.WABAID)
	})
	if err != nil {
		return nil, err
	}
	return &ListPhoneNumbersOutput{PhoneNumbers: phones}, nil
}

// GetPhoneNumber reads one phone number (platform_type, status, is_on_biz_app, ...).
func (c *Client) GetPhoneNumber(ctx context.Context, in *GetPhoneNumberInput, optFns ...func(*Options)) (*PhoneNumber, error) {
	return call(ctx, c, CallPhoneInfo, in, optFns, func(in *GetPhoneNumberInput) (*operation, error) {
		return read(in.PhoneNumberID, PhoneNumberFields, in.AccessToken),
			pathParam(CallPhoneInfo, "phone_number_id", in.PhoneNumberID)
	}, func(p *PhoneNumber) string { return unless(p.ID != "", "id") })
}

// SubscribeApp subscribes the app to the WABA's webhooks (POST /<WABA_ID>/subscribed_apps with an empty
// body). With OverrideCallbackURI set it sends override_callback_uri and verify_token instead, which Meta
// accepts only once the app is subscribed. It is not repeated once it may have reached Meta: after a lost
// answer the caller reads subscribed_apps back before subscribing again (a killed step re-runs the same way),
// so the subscription is written once.
func (c *Client) SubscribeApp(ctx context.Context, in *SubscribeAppInput, optFns ...func(*Options)) error {
	return post(ctx, c, CallSubscribedApps, in, optFns, func(in *SubscribeAppInput) (*operation, error) {
		op := &operation{method: http.MethodPost, path: joinPath(in.WABAID, "subscribed_apps"), mode: neverAfterSent,
			token: in.AccessToken, secrets: secretValues(in.VerifyToken)}
		if err := pathParam(CallSubscribedApps, "waba_id", in.WABAID); err != nil || in.OverrideCallbackURI == "" {
			return op, err
		}
		v := in.VerifyToken.Reveal()
		op.jsonBody = struct {
			OverrideCallbackURI string `json:"override_callback_uri"`
			VerifyToken         string `json:"verify_token"`
		}{in.OverrideCallbackURI, v}
		return op, firstError(validCallbackURI(in.OverrideCallbackURI),
			check(v != "" && len(v) <= 1024 && !strings.ContainsAny(v, "\r\n"), CallSubscribedApps, "verify_token",
				"is required with override_callback_uri (1 to 1024 bytes, one line)"))
	})
}

// validCallbackURI accepts an absolute https URL (or http on loopback, for local runs) without credentials.
func validCallbackURI(s string) error {
	u, err := url.Parse(s)
	ok := len(s) <= maxURILength && err == nil && u.User == nil && u.Host != "" && u.Fragment == "" &&
		(u.Scheme == "https" || (u.Scheme == "http" && isLoopbackHost(u.Hostname())))
	return check(ok, CallSubscribedApps, "override_callback_uri",
		fmt.Sprintf("must be an absolute https URL (http only on loopback) without credentials, at most %d bytes", maxURILength))
}

type subscribedAppEntry struct {
	App struct {
		ID   idString `json:"id"`
		Link string   `json:"link"`
		Name string   `json:"name"`
	} `json:"whatsapp_business_api_data"`
	OverrideCallbackURI string `json:"override_callback_uri"`
}

// ListSubscribedApps reads the apps subscribed to a WABA's webhooks and their callback overrides.
func (c *Client) ListSubscribedApps(ctx context.Context, in *ListSubscribedAppsInput, optFns ...func(*Options)) (*ListSubscribedAppsOutput, error) {
	entries, err := list[ListSubscribedAppsInput, subscribedAppEntry](ctx, c, CallSubscribedApps, in, optFns, func(in *ListSubscribedAppsInput) (*operation, error) {
		return &operation{method: http.MethodGet, path: joinPath(in.WABAID, "subscribed_apps"), mode: neverAfterSent,
			token: in.AccessToken}, pathParam(CallSubscribedApps, "waba_id", in.WABAID)
	})
	if err != nil {
		return nil, err
	}
	out := &ListSubscribedAppsOutput{Apps: make([]SubscribedApp, 0, len(entries))}
	for _, e := range entries {
		out.Apps = append(out.Apps, SubscribedApp{AppID: string(e.App.ID), Name: e.App.Name, Link: e.App.Link,
			OverrideCallbackURI: e.OverrideCallbackURI})
	}
	return out, nil
}

// AssignUser adds a user (the partner's system user) to a WABA with tasks (default MANAGE):
// POST /<WABA_ID>/assigned_users?user=<ID>&tasks=['MANAGE']. A repeat fails with Meta's error 100
// "already assigned", returned as is: IsAlreadyAssigned tells it apart and callers decide.
func (c *Client) AssignUser(ctx context.Context, in *AssignUserInput, optFns ...func(*Options)) error {
	return post(ctx, c, CallAssignedUsers, in, optFns, func(in *AssignUserInput) (*operation, error) {
		tasks := in.Tasks
		if len(tasks) == 0 {
			tasks = []string{"MANAGE"}
		}
		validTasks := true
		for _, t := range tasks {
			validTasks = validTasks && taskPattern.MatchString(t)
		}
		return &operation{
				method: http.MethodPost, path: joinPath(in.WABAID, "assigned_users"), mode: idempotent,
				query: url.Values{"user": {in.UserID}, "tasks": {"['" + strings.Join(tasks, "','") + "']"}},
				token: in.AccessToken,
			}, firstError(
				pathParam(CallAssignedUsers, "waba_id", in.WABAID),
				pathParam(CallAssignedUsers, "user_id", in.UserID),
				check(validTasks, CallAssignedUsers, "tasks", "each task must be upper-case letters and underscores"))
	})
}

type shareCreditLineBody struct {
	AllocationConfigID idString `json:"allocation_config_id"`
	WABAID             idString `json:"waba_id"`
}

// ShareCreditLine shares and attaches the partner's credit line to a WABA (system token). It is never
// retried once sent: a credit line cannot be changed once attached, so after an ambiguous failure the
// caller re-checks with GetAllocationConfig/GetWABA/ListCreditAllocations before trying again.
func (c *Client) ShareCreditLine(ctx context.Context, in *ShareCreditLineInput, optFns ...func(*Options)) (*ShareCreditLineOutput, error) {
	r, err := call(ctx, c, CallCreditSharing, in, optFns, func(in *ShareCreditLineInput) (*operation, error) {
		return &operation{
				method: http.MethodPost, path: joinPath(in.CreditLineID, "whatsapp_credit_sharing_and_attach"),
				mode:  neverAfterSent,
				query: url.Values{"waba_currency": {in.Currency}, "waba_id": {in.WABAID}},
				token: in.AccessToken,
			}, firstError(
				pathParam(CallCreditSharing, "credit_line_id", in.CreditLineID),
				pathParam(CallCreditSharing, "waba_id", in.WABAID),
				check(onboarding.ValidCurrency(in.Currency), CallCreditSharing, "currency",
					"must be one of "+strings.Join(onboarding.Currencies, ", ")))
	}, func(r *shareCreditLineBody) string { return unless(r.AllocationConfigID != "", "allocation_config_id") })
	if err != nil {
		return nil, err
	}
	return &ShareCreditLineOutput{AllocationConfigID: string(r.AllocationConfigID), WABAID: string(r.WABAID)}, nil
}

// allocationBody is Meta's allocation configuration: {"id","receiving_credential":{"id"}}.
type allocationBody struct {
	ID                  idString `json:"id"`
	ReceivingCredential *struct {
		ID idString `json:"id"`
	} `json:"receiving_credential"`
}

func (a allocationBody) config() AllocationConfig {
	out := AllocationConfig{ID: string(a.ID)}
	if a.ReceivingCredential != nil {
		out.ReceivingCredentialID = string(a.ReceivingCredential.ID)
	}
	return out
}

// GetAllocationConfig reads an allocation configuration's receiving credential (to check, after an
// ambiguous ShareCreditLine, whether the credit line reached the WABA).
func (c *Client) GetAllocationConfig(ctx context.Context, in *GetAllocationConfigInput, optFns ...func(*Options)) (*AllocationConfig, error) {
	r, err := call(ctx, c, CallCreditCheck, in, optFns, func(in *GetAllocationConfigInput) (*operation, error) {
		return read(in.AllocationConfigID, allocationFields, in.AccessToken),
			pathParam(CallCreditCheck, "allocation_config_id", in.AllocationConfigID)
	}, func(r *allocationBody) string { return unless(r.ID != "", "id") })
	if err != nil {
		return nil, err
	}
	cfg := r.config()
	return &cfg, nil
}

// RevokeCreditLine deletes an allocation configuration (DELETE /<ALLOCATION_CONFIG_ID>, system token): the
// partner's credit line stops funding the customer, as Meta recommends once the customer removed the partner.
// Repeating it cannot share anything, so it is retried like a read.
func (c *Client) RevokeCreditLine(ctx context.Context, in *RevokeCreditLineInput, optFns ...func(*Options)) error {
	return post(ctx, c, CallCreditRevoke, in, optFns, func(in *RevokeCreditLineInput) (*operation, error) {
		return &operation{method: http.MethodDelete, path: in.AllocationConfigID, mode: idempotent, token: in.AccessToken},
			pathParam(CallCreditRevoke, "allocation_config_id", in.AllocationConfigID)
	})
}

// ListCreditAllocations lists the allocation configurations of a credit line, following paging like
// ListPhoneNumbers: those shared with one business portfolio when ReceivingBusinessID is set (Meta's
// receiving_business_id filter), else every one.
func (c *Client) ListCreditAllocations(ctx context.Context, in *ListCreditAllocationsInput, optFns ...func(*Options)) ([]AllocationConfig, error) {
	items, err := list[ListCreditAllocationsInput, allocationBody](ctx, c, CallCreditCheck, in, optFns, func(in *ListCreditAllocationsInput) (*operation, error) {
		op := read(joinPath(in.CreditLineID, "owning_credit_allocation_configs"), allocationFields, in.AccessToken)
		if in.ReceivingBusinessID != "" {
			op.query.Set("receiving_business_id", in.ReceivingBusinessID)
		}
		return op, firstError(
			pathParam(CallCreditCheck, "credit_line_id", in.CreditLineID),
			check(in.ReceivingBusinessID == "" || onboarding.ValidGraphID(in.ReceivingBusinessID), CallCreditCheck,
				"receiving_business_id", "must be 1 to 20 ASCII digits"))
	})
	if err != nil {
		return nil, err
	}
	out := make([]AllocationConfig, 0, len(items))
	for _, it := range items {
		out = append(out, it.config())
	}
	return out, nil
}

type wabaBody struct {
	ID               idString `json:"id"`
	Name             string   `json:"name"`
	Currency         string   `json:"currency"`
	PrimaryFundingID idString `json:"primary_funding_id"`
	OwnerBusiness    *struct {
		ID idString `json:"id"`
	} `json:"owner_business_info"`
}

// GetWABA reads a WABA's id, name, currency and primary_funding_id (the receiving credential of an
// attached credit line).
func (c *Client) GetWABA(ctx context.Context, in *GetWABAInput, optFns ...func(*Options)) (*WABA, error) {
	r, err := call(ctx, c, CallCreditCheck, in, optFns, func(in *GetWABAInput) (*operation, error) {
		return read(in.WABAID, wabaFields, in.AccessToken), pathParam(CallCreditCheck, "waba_id", in.WABAID)
	}, func(r *wabaBody) string { return unless(r.ID != "", "id") })
	if err != nil {
		return nil, err
	}
	w := &WABA{ID: string(r.ID), Name: r.Name, Currency: r.Currency, PrimaryFundingID: string(r.PrimaryFundingID)}
	if r.OwnerBusiness != nil {
		w.OwnerBusinessID = string(r.OwnerBusiness.ID)
	}
	return w, nil
}

// RegisterPhone registers a phone number for Cloud API with its six-digit two-step PIN. Meta allows 10
// register calls per number per 72 h, so it is never retried once sent.
func (c *Client) RegisterPhone(ctx context.Context, in *RegisterPhoneInput, optFns ...func(*Options)) error {
	return post(ctx, c, CallRegister, in, optFns, func(in *RegisterPhoneInput) (*operation, error) {
		return &operation{
				method: http.MethodPost, path: joinPath(in.PhoneNumberID, "register"), mode: neverAfterSent,
				token: in.AccessToken, secrets: secretValues(in.PIN),
				jsonBody: struct {
					MessagingProduct       string `json:"messaging_product"`
					PIN                    string `json:"pin"`
					DataLocalizationRegion string `json:"data_localization_region,omitempty"`
				}{"whatsapp", in.PIN.Reveal(), in.DataLocalizationRegion},
			}, firstError(
				pathParam(CallRegister, "phone_number_id", in.PhoneNumberID),
				check(onboarding.ValidPIN(in.PIN.Reveal()), CallRegister, "pin", "must be 6 digits"),
				check(in.DataLocalizationRegion == "" || onboarding.ValidDataLocalizationRegion(in.DataLocalizationRegion), CallRegister,
					"data_localization_region", "must be one of "+strings.Join(onboarding.DataLocalizationRegions, ", ")))
	})
}

type sendMessageBody struct {
	Contacts []struct {
		Input string `json:"input"`
		WAID  string `json:"wa_id"`
	} `json:"contacts"`
	Messages []struct {
		ID string `json:"id"`
	} `json:"messages"`
}

// SendTextMessage sends a text message (1 to 4096 characters) to an E.164 number or a business-scoped user id. It is never retried once
// sent: a repeat would deliver the message twice.
func (c *Client) SendTextMessage(ctx context.Context, in *SendTextMessageInput, optFns ...func(*Options)) (*SendMessageOutput, error) {
	r, err := call(ctx, c, CallMessages, in, optFns, func(in *SendTextMessageInput) (*operation, error) {
		type text struct {
			PreviewURL bool   `json:"preview_url"`
			Body       string `json:"body"`
		}
		n := utf8.RuneCountInString(in.Body)
		return &operation{
				method: http.MethodPost, path: joinPath(in.PhoneNumberID, "messages"), mode: neverAfterSent,
				token: in.AccessToken,
				jsonBody: struct {
					MessagingProduct string `json:"messaging_product"`
					RecipientType    string `json:"recipient_type"`
					To               string `json:"to,omitempty"`
					Recipient        string `json:"recipient,omitempty"`
					Type             string `json:"type"`
					Text             text   `json:"text"`
				}{"whatsapp", "individual", in.To, in.Recipient, "text", text{in.PreviewURL, in.Body}},
			}, firstError(
				pathParam(CallMessages, "phone_number_id", in.PhoneNumberID),
				check(in.To == "" || in.Recipient == "", CallMessages, "recipient", "give to or recipient, not both (Meta would use to)"),
				check(in.Recipient == "" || onboarding.ValidBSUID(in.Recipient), CallMessages, "recipient",
					"must be a business-scoped user id (CC.<up to 128 letters and digits>)"),
				check(in.Recipient != "" || onboarding.ValidE164(in.To), CallMessages, "to", "must be a phone number in E.164 form (+ and 7 to 15 digits)"),
				check(n > 0 && n <= MaxTextBodyLength && utf8.ValidString(in.Body), CallMessages, "body",
					fmt.Sprintf("must be 1 to %d characters of valid UTF-8", MaxTextBodyLength)))
	}, func(r *sendMessageBody) string {
		return unless(len(r.Messages) > 0 && r.Messages[0].ID != "", "messages[0].id")
	})
	if err != nil {
		return nil, err
	}
	out := &SendMessageOutput{MessageID: r.Messages[0].ID}
	if len(r.Contacts) > 0 {
		out.WAID = r.Contacts[0].WAID
	}
	return out, nil
}

// page is one page of a Graph list.
type page[T any] struct {
	Data   []T `json:"data"`
	Paging *struct {
		Next string `json:"next"`
	} `json:"paging"`
}

// listAll reads every page of a list. It follows paging.next only when it points at the same scheme, host
// and path, and takes only its cursor (and limit): Meta's next links carry the access token in the query,
// which this client never sends in a URL.
func listAll[T any](ctx context.Context, c *Client, o *Options, op *operation) ([]T, error) {
	var all []T
	seen := map[string]bool{}
	cur := *op
	for n := 1; ; n++ {
		var pg page[T]
		if err := c.do(ctx, o, &cur, &pg); err != nil {
			return nil, err
		}
		all = append(all, pg.Data...)
		if pg.Paging == nil || pg.Paging.Next == "" {
			return all, nil
		}
		q, err := nextQuery(o, op, pg.Paging.Next)
		if err != nil {
			return nil, err
		}
		after := q.Get("after")
		if n >= MaxPages || seen[after] {
			return nil, &Error{Call: op.call, HTTPStatus: http.StatusOK, Class: ClassPermanent, Sent: true,
				Message: fmt.Sprintf("%s /%s/%s: more than %d pages or a repeating cursor", op.method, o.APIVersion, op.path, MaxPages)}
		}
		seen[after] = true
		cur.query = q
	}
}

// nextQuery checks Meta's paging.next link and returns the query of the next request: the original
// parameters plus the after cursor and limit of the link, nothing else from it.
func nextQuery(o *Options, op *operation, next string) (url.Values, error) {
	bad := &Error{Call: op.call, HTTPStatus: http.StatusOK, Class: ClassPermanent, Sent: true,
		Message: fmt.Sprintf("%s /%s/%s: paging.next does not point at the same endpoint; not followed", op.method, o.APIVersion, op.path)}
	u, err := url.Parse(next)
	if err != nil || u.User != nil || u.Scheme+"://"+u.Host != o.base {
		return nil, bad
	}
	version, rest, ok := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if !ok || !apiVersionPattern.MatchString(version) || rest != op.path {
		return nil, bad
	}
	nq := u.Query()
	after := nq.Get("after")
	if after == "" || len(after) > 1024 {
		return nil, bad
	}
	q := url.Values{}
	maps.Copy(q, op.query)
	q.Set("after", after)
	if l := nq.Get("limit"); l != "" && len(l) <= 4 && strings.Trim(l, "0123456789") == "" {
		q.Set("limit", l)
	}
	return q, nil
}

// idString decodes a Graph id given as a JSON string (Meta's form) or as a number.
type idString string

// UnmarshalJSON accepts "123", 123 and null.
func (s *idString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, (*string)(s))
	}
	if string(b) == "null" {
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*s = idString(n)
	return nil
}

package graph

import (
	"slices"
	"time"

	"github.com/waes/onboarding/shared/onboarding"
)

// Call names identify each Graph operation in errors, logs, metrics and the simulator's fault injection
// (GRAPH_SIM_FAULTS uses the same names).
const (
	CallOAuth           = "oauth"           // GET /oauth/access_token
	CallDebugToken      = "debug_token"     // GET /debug_token
	CallPhoneNumbers    = "phone_numbers"   // GET /<WABA_ID>/phone_numbers
	CallSubscribedApps  = "subscribed_apps" // POST and GET /<WABA_ID>/subscribed_apps
	CallAssignedUsers   = "assigned_users"  // POST /<WABA_ID>/assigned_users
	CallCreditSharing   = "credit_sharing"  // POST /<CREDIT_LINE_ID>/whatsapp_credit_sharing_and_attach
	CallCreditCheck     = "credit_check"    // GET /<ALLOCATION_ID>, GET /<WABA_ID>?fields=primary_funding_id, GET /<CREDIT_LINE_ID>/owning_credit_allocation_configs
	CallCreditRevoke    = "credit_revoke"   // DELETE /<ALLOCATION_CONFIG_ID>
	CallPhoneInfo       = "phone_info"      // GET /<PHONE_NUMBER_ID>
	CallRegister        = "register"        // POST /<PHONE_NUMBER_ID>/register
	CallMessages        = "messages"        // POST /<PHONE_NUMBER_ID>/messages
	DefaultAPIVersion   = "v25.0"
	DefaultBaseEndpoint = "https://graph.facebook.com"
	// MaxTextBodyLength is Meta's limit on a text message body, in characters.
	MaxTextBodyLength = 4096
)

// ExchangeCodeInput exchanges an Embedded Signup code for the customer's business token.
type ExchangeCodeInput struct {
	AppID     string
	AppSecret onboarding.Secret
	Code      onboarding.Secret
}

// ExchangeCodeOutput is the business token.
type ExchangeCodeOutput struct {
	AccessToken onboarding.Secret
	TokenType   string
	// ExpiresIn is the token lifetime in seconds; 0 means it does not expire.
	ExpiresIn int
}

// DebugTokenInput inspects InputToken using AccessToken (the app token "<app_id>|<app_secret>" or the
// partner's system token).
type DebugTokenInput struct {
	InputToken  onboarding.Secret
	AccessToken onboarding.Secret
}

// GranularScope is one permission and the object ids it is limited to.
type GranularScope struct {
	Scope     string   `json:"scope"`
	TargetIDs []string `json:"target_ids,omitempty"`
}

// DebugTokenOutput is the data of a debug_token answer.
type DebugTokenOutput struct {
	AppID       string
	Application string
	Type        string
	IsValid     bool
	// ExpiresAt is zero when the token never expires.
	ExpiresAt           time.Time
	DataAccessExpiresAt time.Time
	Scopes              []string
	GranularScopes      []GranularScope
	UserID              string
	// ErrorCode, ErrorSubcode and ErrorMessage explain why an invalid token is invalid (Meta's data.error).
	ErrorCode    int
	ErrorSubcode int
	ErrorMessage string
}

// HasScope reports whether the token holds the permission.
func (d *DebugTokenOutput) HasScope(scope string) bool { return slices.Contains(d.Scopes, scope) }

// HasGranularTarget reports whether the token's granular scope explicitly names id among its target_ids.
// A granular scope without target_ids does not count: a grant check wants the WABA named.
func (d *DebugTokenOutput) HasGranularTarget(scope, id string) bool {
	return slices.ContainsFunc(d.GranularScopes, func(g GranularScope) bool {
		return g.Scope == scope && slices.Contains(g.TargetIDs, id)
	})
}

// PhoneNumber describes one business phone number.
type PhoneNumber struct {
	ID                     string `json:"id"`
	DisplayPhoneNumber     string `json:"display_phone_number,omitempty"`
	VerifiedName           string `json:"verified_name,omitempty"`
	PlatformType           string `json:"platform_type,omitempty"` // CLOUD_API, ON_PREMISE, NOT_APPLICABLE
	Status                 string `json:"status,omitempty"`        // CONNECTED, PENDING, DISCONNECTED, ...
	CodeVerificationStatus string `json:"code_verification_status,omitempty"`
	IsOnBizApp             bool   `json:"is_on_biz_app,omitempty"`
	QualityRating          string `json:"quality_rating,omitempty"`
}

// Registered reports whether the number is already registered for Cloud API and connected.
func (p *PhoneNumber) Registered() bool {
	return p.PlatformType == "CLOUD_API" && p.Status == "CONNECTED"
}

// ListPhoneNumbersInput lists the phone numbers of a WABA.
type ListPhoneNumbersInput struct {
	WABAID      string
	AccessToken onboarding.Secret
}

// ListPhoneNumbersOutput holds the WABA's numbers.
type ListPhoneNumbersOutput struct{ PhoneNumbers []PhoneNumber }

// GetPhoneNumberInput reads one phone number's platform_type, status, is_on_biz_app and
// code_verification_status.
type GetPhoneNumberInput struct {
	PhoneNumberID string
	AccessToken   onboarding.Secret
}

// SubscribeAppInput subscribes the app to a WABA's webhooks. With OverrideCallbackURI set it sets the per-WABA
// callback override instead (the app must already be subscribed: subscribe with an empty body first).
type SubscribeAppInput struct {
	WABAID              string
	AccessToken         onboarding.Secret
	OverrideCallbackURI string
	VerifyToken         onboarding.Secret
}

// SubscribedApp is one entry of GET /<WABA_ID>/subscribed_apps.
type SubscribedApp struct {
	AppID               string
	Name                string
	OverrideCallbackURI string
	// Link is the app's link as Meta reports it.
	Link string
}

// ListSubscribedAppsInput reads the apps subscribed to a WABA.
type ListSubscribedAppsInput struct {
	WABAID      string
	AccessToken onboarding.Secret
}

// ListSubscribedAppsOutput lists the subscribed apps.
type ListSubscribedAppsOutput struct{ Apps []SubscribedApp }

// AssignUserInput adds a (system) user to a WABA with tasks (for credit sharing: MANAGE).
type AssignUserInput struct {
	WABAID      string
	UserID      string
	Tasks       []string
	AccessToken onboarding.Secret
}

// ShareCreditLineInput shares and attaches the partner's extended credit line to a WABA (system token).
type ShareCreditLineInput struct {
	CreditLineID string
	WABAID       string
	Currency     string
	AccessToken  onboarding.Secret
}

// ShareCreditLineOutput is Meta's answer: keep AllocationConfigID.
type ShareCreditLineOutput struct {
	AllocationConfigID string
	WABAID             string
}

// GetAllocationConfigInput reads an allocation configuration's receiving_credential.
type GetAllocationConfigInput struct {
	AllocationConfigID string
	AccessToken        onboarding.Secret
}

// AllocationConfig is a credit line allocation configuration.
type AllocationConfig struct {
	ID                    string
	ReceivingCredentialID string
}

// ListCreditAllocationsInput lists the allocation configurations of a credit line.
type ListCreditAllocationsInput struct {
	CreditLineID string
	// ReceivingBusinessID, when set, lists only the allocations shared with that business portfolio.
	ReceivingBusinessID string
	AccessToken         onboarding.Secret
}

// RevokeCreditLineInput revokes (deletes) a credit line allocation configuration (system token).
type RevokeCreditLineInput struct {
	AllocationConfigID string
	AccessToken        onboarding.Secret
}

// GetWABAInput reads a WABA's id, name, currency and primary_funding_id.
type GetWABAInput struct {
	WABAID      string
	AccessToken onboarding.Secret
}

// WABA is the subset of WhatsApp Business Account fields this service reads.
type WABA struct {
	ID               string
	Name             string
	Currency         string
	PrimaryFundingID string
	// OwnerBusinessID is the customer's business portfolio (owner_business_info.id).
	OwnerBusinessID string
}

// RegisterPhoneInput registers a phone number for Cloud API with its two-step verification PIN.
type RegisterPhoneInput struct {
	PhoneNumberID string
	PIN           onboarding.Secret
	// DataLocalizationRegion, when set, enables local storage in that region (onboarding.DataLocalizationRegions).
	DataLocalizationRegion string
	AccessToken            onboarding.Secret
}

// SendTextMessageInput sends a text message from a business phone number.
type SendTextMessageInput struct {
	PhoneNumberID string
	// To is the recipient's phone number in E.164 form. Recipient is the user's business-scoped user id
	// (BSUID), for users Meta identifies without a phone number; exactly one of the two is sent.
	To          string
	Recipient   string
	Body        string
	PreviewURL  bool
	AccessToken onboarding.Secret
}

// SendMessageOutput identifies the sent message.
type SendMessageOutput struct {
	MessageID string
	WAID      string
}

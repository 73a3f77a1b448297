// Package schema names the onboarding table's keys, attributes and indexes. It has no AWS SDK imports, so
// the CDK stack (infra/cdk) declares the deployed table from the same constants the DynamoDB adapter
// (shared/store/dynamodb) and its tests use, without linking the adapter: the deployed table and the tested
// one cannot drift apart.
package schema

// Attribute and index names of the table.
const (
	// AttrPK and AttrSK are the table's partition and sort key (both strings).
	AttrPK = "pk"
	AttrSK = "sk"
	// IndexGSI1 finds records by business phone number id: AttrGSI1PK "PHONE#<phone_number_id>",
	// AttrGSI1SK "<created_at>#<id>". Records without a phone number have no GSI1 keys.
	IndexGSI1  = "gsi1"
	AttrGSI1PK = "gsi1pk"
	AttrGSI1SK = "gsi1sk"
	// IndexGSI2 finds records by WABA id: AttrGSI2PK "WABA#<waba_id>", AttrGSI2SK "<created_at>#<id>".
	IndexGSI2  = "gsi2"
	AttrGSI2PK = "gsi2pk"
	AttrGSI2SK = "gsi2sk"
	// IndexGSI3 lists a partner customer's records (partner authentication): AttrGSI3PK
	// "CUST#<customer_ref>", AttrGSI3SK "<created_at>#<id>". Records without a customer_ref have no GSI3 keys.
	IndexGSI3  = "gsi3"
	AttrGSI3PK = "gsi3pk"
	AttrGSI3SK = "gsi3sk"
	// AttrTTL is the table's TTL attribute (N, epoch seconds). Onboarding records, guards and partner items
	// never carry it; webhook event claims, message statuses and pending waits do.
	AttrTTL = "expires_at"
	// AttrVersion is the optimistic-concurrency version of a record item (N).
	AttrVersion = "version"
)

// Index describes one global secondary index: its name and key attributes (both strings), projection ALL.
type Index struct {
	Name         string
	PartitionKey string
	SortKey      string
}

// Indexes lists the table's global secondary indexes, for the CDK stack to declare in a loop.
var Indexes = []Index{
	{Name: IndexGSI1, PartitionKey: AttrGSI1PK, SortKey: AttrGSI1SK},
	{Name: IndexGSI2, PartitionKey: AttrGSI2PK, SortKey: AttrGSI2SK},
	{Name: IndexGSI3, PartitionKey: AttrGSI3PK, SortKey: AttrGSI3SK},
}

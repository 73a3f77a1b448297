package dynamodb

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute and index names of the table. The CDK stack (infra/cdk) and the tests build the table from these
// constants (or from TableSchema), so the deployed table and the tested one cannot drift apart.
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

// SchemaAPI is the part of the DynamoDB client that CreateTable and EnableTTL use.
type SchemaAPI interface {
	CreateTable(ctx context.Context, in *ddb.CreateTableInput, optFns ...func(*ddb.Options)) (*ddb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *ddb.DescribeTableInput, optFns ...func(*ddb.Options)) (*ddb.DescribeTableOutput, error)
	UpdateTimeToLive(ctx context.Context, in *ddb.UpdateTimeToLiveInput, optFns ...func(*ddb.Options)) (*ddb.UpdateTimeToLiveOutput, error)
}

// TableSchema returns the CreateTable request for the onboarding table: pk/sk strings, the GSIs of Indexes
// (projection ALL), on-demand billing. TTL (AttrTTL) and point-in-time recovery are separate settings:
// EnableTTL and the CDK stack set them.
func TableSchema(table string) *ddb.CreateTableInput {
	attrs := []types.AttributeDefinition{
		{AttributeName: aws.String(AttrPK), AttributeType: types.ScalarAttributeTypeS},
		{AttributeName: aws.String(AttrSK), AttributeType: types.ScalarAttributeTypeS},
	}
	var gsis []types.GlobalSecondaryIndex
	for _, ix := range Indexes {
		attrs = append(attrs,
			types.AttributeDefinition{AttributeName: aws.String(ix.PartitionKey), AttributeType: types.ScalarAttributeTypeS},
			types.AttributeDefinition{AttributeName: aws.String(ix.SortKey), AttributeType: types.ScalarAttributeTypeS},
		)
		gsis = append(gsis, types.GlobalSecondaryIndex{
			IndexName: aws.String(ix.Name),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(ix.PartitionKey), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(ix.SortKey), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		})
	}
	return &ddb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: attrs,
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(AttrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(AttrSK), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: gsis,
		BillingMode:            types.BillingModePayPerRequest,
	}
}

// CreateTable creates the onboarding table (TableSchema) and waits until it and its indexes are ACTIVE or ctx
// ends. It is meant for tests and local tooling; deployed stages get the same table from the CDK stack.
func CreateTable(ctx context.Context, client SchemaAPI, table string) error {
	if _, err := client.CreateTable(ctx, TableSchema(table)); err != nil {
		return fmt.Errorf("dynamodb table %s: CreateTable: %w", table, err)
	}
	// Tables and indexes start CREATING; poll with a growing interval (DynamoDB takes seconds, dynalite
	// milliseconds) rather than the SDK waiter, whose 20-second minimum delay would dominate the tests.
	delay := 10 * time.Millisecond
	for {
		out, err := client.DescribeTable(ctx, &ddb.DescribeTableInput{TableName: aws.String(table)})
		if err != nil {
			return fmt.Errorf("dynamodb table %s: DescribeTable: %w", table, err)
		}
		if tableActive(out.Table) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("dynamodb table %s: waiting for ACTIVE: %w", table, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(delay*2, 2*time.Second)
	}
}

func tableActive(t *types.TableDescription) bool {
	if t == nil || t.TableStatus != types.TableStatusActive {
		return false
	}
	for _, ix := range t.GlobalSecondaryIndexes {
		if ix.IndexStatus != types.IndexStatusActive {
			return false
		}
	}
	return true
}

// EnableTTL turns on expiry by AttrTTL. Deployed stages get it from the CDK stack; dynalite does not implement
// UpdateTimeToLive, so the tests do not call it.
func EnableTTL(ctx context.Context, client SchemaAPI, table string) error {
	_, err := client.UpdateTimeToLive(ctx, &ddb.UpdateTimeToLiveInput{
		TableName: aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(AttrTTL),
			Enabled:       aws.Bool(true),
		},
	})
	if err != nil {
		return fmt.Errorf("dynamodb table %s: UpdateTimeToLive: %w", table, err)
	}
	return nil
}

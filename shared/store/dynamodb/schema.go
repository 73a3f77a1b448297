package dynamodb

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/waes/onboarding/shared/store/dynamodb/schema"
)

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
		{AttributeName: aws.String(schema.AttrPK), AttributeType: types.ScalarAttributeTypeS},
		{AttributeName: aws.String(schema.AttrSK), AttributeType: types.ScalarAttributeTypeS},
	}
	var gsis []types.GlobalSecondaryIndex
	for _, ix := range schema.Indexes {
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
			{AttributeName: aws.String(schema.AttrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(schema.AttrSK), KeyType: types.KeyTypeRange},
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
			AttributeName: aws.String(schema.AttrTTL),
			Enabled:       aws.Bool(true),
		},
	})
	if err != nil {
		return fmt.Errorf("dynamodb table %s: UpdateTimeToLive: %w", table, err)
	}
	return nil
}

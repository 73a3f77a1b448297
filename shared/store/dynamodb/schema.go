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

// TableSchema returns the CreateTable request for the onboarding table: pk/sk strings, the GSIs of Indexes
// (projection ALL), on-demand billing. TTL (AttrTTL) and point-in-time recovery are separate settings,
// which the CDK stack sets (dynalite implements neither).
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
func CreateTable(ctx context.Context, client *ddb.Client, table string) error {
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

module github.com/dynamokit/dynamo/internal/bench

go 1.25.0

require github.com/dynamokit/dynamo v0.0.0-00010101000000-000000000000

require (
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-retryablehttp v0.7.8 // indirect
)

replace github.com/dynamokit/dynamo => ../..

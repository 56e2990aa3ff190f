module so1fase2/go-agent

go 1.26.8

require github.com/google/uuid v1.6.0

# shellcheck shell=bash
# The ports the tests use, in one table: sourced by scripts/env.sh, each a default
# that the environment overrides (two checkouts testing at once set their own).
# A component's private MariaDB is started by scripts/with-test-mariadb.sh NAME,
# which takes TEST_<NAME>_DB_PORT from here.
#
#   variable                       default  used by
: "${TEST_ROUTE1_DB_PORT:=3318}"           # route1-python tests
: "${TEST_ROUTE1_TABLE_DB_PORT:=3317}"     # route1-python tests/test_table.py (its own up/down)
: "${TEST_ROUTE2_DB_PORT:=3319}"           # route2-node tests
: "${TEST_PARITY_DB_PORT:=3320}"           # tests/route-parity
: "${TEST_WS_DB_PORT:=3321}"               # ws-server tests
: "${TEST_DASHBOARD_DB_PORT:=3322}"        # web-dashboard e2e
: "${TEST_E2E_DB_PORT:=3323}"              # tests/e2e (the whole local stack)
: "${TEST_AGENT_DB_PORT:=3324}"            # go-agent (routecompare's database test)
: "${TEST_BENCH_ROUTE1_DB_PORT:=3325}"     # route1-python bench
: "${TEST_BENCH_ROUTE2_DB_PORT:=3326}"     # route2-node bench
: "${TEST_BENCH_WS_DB_PORT:=3327}"         # ws-server bench
: "${TEST_IMAGES_DB_PORT:=3328}"           # tests/images
# tests/cluster: 172.18.0.1:3307, fixed by mesh/overlays/local/database.yaml.
# HTTP ports: each test picks a free one, or a range of its own: tests/e2e 18101-18381,
# route parity 18011-18012, web-dashboard e2e 18188-18190 and 18501, routecompare 18770-18799,
# agentbench 18181-18182 and 19100, Locust's distributed test 18600-18699.
export TEST_ROUTE1_DB_PORT TEST_ROUTE1_TABLE_DB_PORT TEST_ROUTE2_DB_PORT TEST_PARITY_DB_PORT \
  TEST_WS_DB_PORT TEST_DASHBOARD_DB_PORT TEST_E2E_DB_PORT TEST_AGENT_DB_PORT \
  TEST_BENCH_ROUTE1_DB_PORT TEST_BENCH_ROUTE2_DB_PORT TEST_BENCH_WS_DB_PORT TEST_IMAGES_DB_PORT

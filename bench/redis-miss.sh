#!/bin/sh
# The store on the miss path: the gateway with a cache lookup (every
# request a miss: a random Helicone-Cache-Seed), a rate limit checked,
# the response stored and the log written, on the shared-memory store vs
# Redis on loopback, plain and over TLS (rediss://, a test CA made here
# with openssl). Run by `make bench` (after bench/cache-run) and by
# `make bench-redis`.
#
#   sh bench/redis-miss.sh            # 2 rounds of 5s each, 32 and 1 conn
#
# Environment: BENCH_DURATION (5s), BENCH_ROUNDS (2), BENCH_WARMUP (1s,
# per store and connection count), BENCH_KEEP=1 to keep the temp dir;
# the older names DURATION, ROUNDS, KEEP are still read. CONNECTIONS
# ("32 1"), NGINX, MODULE, WRK, REDIS_SERVER.
#
# Output: the table on stdout and in bench/results/redis-latest.md.
#
# Prints, per store and connection count, the median req/s and mean
# latency of the rounds; at one connection the difference of the means
# is what Redis adds to one request (two round trips: MGET, then the
# rate-limit script; the cache put and the log are not waited for), and
# redis-tls against redis what TLS adds to those round trips.

set -eu

root=$(cd "$(dirname "$0")/.." && pwd)

NGINX=${NGINX:-/usr/sbin/nginx}
MODULE=${MODULE:-$root/build/ngx_http_helicone_module.so}
WRK=${WRK:-wrk}
REDIS_SERVER=${REDIS_SERVER:-redis-server}
DURATION=${BENCH_DURATION:-${DURATION:-5s}}
ROUNDS=${BENCH_ROUNDS:-${ROUNDS:-2}}
WARMUP=${BENCH_WARMUP:-1s}
KEEP=${BENCH_KEEP:-${KEEP:-0}}
CONNECTIONS=${CONNECTIONS:-32 1}

for bin in "$NGINX" "$WRK" "$REDIS_SERVER"; do
    command -v "$bin" >/dev/null || { echo "missing: $bin" >&2; exit 1; }
done
test -f "$MODULE" || { echo "missing: $MODULE (run make)" >&2; exit 1; }

dir=$(mktemp -d /tmp/redis-miss-XXXXXX)
chmod 755 "$dir"
pids=""

# a rebuild during the run changes nothing (as in bench/run)
cp "$MODULE" "$dir/ngx_http_helicone_module.so"
chmod 644 "$dir/ngx_http_helicone_module.so"
MODULE=$dir/ngx_http_helicone_module.so

cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    for f in "$dir"/*.pid; do
        [ -f "$f" ] && kill -QUIT "$(cat "$f")" 2>/dev/null || true
    done
    [ "$KEEP" = 1 ] && echo "kept $dir" || rm -rf "$dir"
}
trap cleanup EXIT INT TERM

port() {
    perl -MIO::Socket::INET -e \
        'print IO::Socket::INET->new(Listen => 1, LocalAddr =>
                                     "127.0.0.1")->sockport'
}

wait_port() {
    i=0
    until perl -MIO::Socket::INET -e \
              "exit !IO::Socket::INET->new('127.0.0.1:$1')" 2>/dev/null
    do
        i=$((i + 1))
        [ $i -gt 100 ] && { echo "port $1 not up" >&2; exit 1; }
        sleep 0.1
    done
}

# a test CA and a certificate for "bench.test", for the TLS port
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=bench-ca \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj /CN=bench.test \
    -keyout "$dir/redis.key" -out "$dir/redis.csr" >/dev/null 2>&1
echo "subjectAltName=DNS:bench.test" >"$dir/san.ext"
openssl x509 -req -in "$dir/redis.csr" -CA "$dir/ca.crt" \
    -CAkey "$dir/ca.key" -CAcreateserial -days 2 -extfile "$dir/san.ext" \
    -out "$dir/redis.crt" >/dev/null 2>&1

redis_port=$(port)
redis_tls_port=$(port)
"$REDIS_SERVER" --port "$redis_port" --bind 127.0.0.1 --save '' \
    --appendonly no --dir "$dir" --tls-port "$redis_tls_port" \
    --tls-cert-file "$dir/redis.crt" --tls-key-file "$dir/redis.key" \
    --tls-ca-cert-file "$dir/ca.crt" --tls-auth-clients no \
    >"$dir/redis.out" 2>&1 &
pids="$pids $!"
wait_port "$redis_port"

mock_port=$(port)

# one gateway per store; the built-in mock provider is the backend
gateway() {
    name=$1 store=$2 gw_port=$3 mock=$4

    cat >"$dir/$name.conf" <<EOF
load_module $MODULE;
worker_processes 1;
error_log $dir/$name.error.log warn;
pid $dir/$name.pid;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    # by an upstream{} block, so that misses reuse connections to the mock
    upstream missmock {
        server 127.0.0.1:$mock_port;
        keepalive 32;
    }
    helicone_provider openai url=http://missmock auth=none;
    helicone_auth off;
    $store
    helicone_log file path=$dir/$name.jsonl buffer=64k flush=1s;

    server {
        listen 127.0.0.1:$gw_port;
        include $root/conf/helicone_attempt.conf;

        location /v1/ {
            helicone_pass gateway;
            helicone_ratelimit "1000000000;w=60";
        }
    }

    $mock
}
EOF

    "$NGINX" -p "$dir/" -c "$dir/$name.conf" -e "$dir/$name.error.log"
    wait_port "$gw_port"
}

shm_port=$(port)
redis_gw_port=$(port)
tls_gw_port=$(port)

gateway shm "helicone_store shm zone=bench:64m;" "$shm_port" \
    "server { listen 127.0.0.1:$mock_port; location / { helicone_mock; } }"
gateway redis "helicone_store redis url=redis://127.0.0.1:$redis_port;" \
    "$redis_gw_port" ""
gateway redis-tls "helicone_store redis url=rediss://127.0.0.1:$redis_tls_port
    tls_ca=$dir/ca.crt tls_name=bench.test;" "$tls_gw_port" ""

stores="shm redis redis-tls"

port_of() {
    case $1 in
    shm) echo "$shm_port" ;;
    redis) echo "$redis_gw_port" ;;
    redis-tls) echo "$tls_gw_port" ;;
    esac
}

cat >"$dir/miss.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Helicone-Cache-Enabled"] = "true"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"user",' ..
           '"content":"Say hello in one short sentence."}]}'
local run, n = "", 0
init = function(args)
    run = args[1] or ""
end
request = function()
    n = n + 1
    wrk.headers["Helicone-Cache-Seed"] = run .. "-" .. n
    return wrk.format()
end
done = function(summary, latency, requests)
    io.write(string.format("RESULT %d %.1f %.1f %.1f\n",
        summary.requests, latency.mean, latency:percentile(50),
        latency:percentile(99)))
end
EOF

runs=0

# $1 port, $2 connections, $3 duration (default: DURATION)
run() {
    runs=$((runs + 1))
    d=${3:-$DURATION}
    "$WRK" -t1 -c"$2" -d"$d" -s "$dir/miss.lua" \
        "http://127.0.0.1:$1/v1/chat/completions" -- "$$-$runs" 2>&1 \
        | awk -v d="$d" '/^RESULT/ { sub(/s$/, "", d);
              printf "%.0f %s %s %s\n", $2 / d, $3, $4, $5 }'
}

table=$dir/table.txt
echo "store     conns   req/s   mean_us  p50_us  p99_us  (median of $ROUNDS)" \
    | tee "$table"

for c in $CONNECTIONS; do
    for s in $stores; do
        run "$(port_of "$s")" "$c" "$WARMUP" >/dev/null      # warm-up
        : >"$dir/$s.$c"
    done

    r=0
    while [ $r -lt "$ROUNDS" ]; do
        for s in $stores; do
            run "$(port_of "$s")" "$c" >>"$dir/$s.$c"
        done
        r=$((r + 1))
    done

    for s in $stores; do
        sort -n "$dir/$s.$c" | awk -v s="$s" -v c="$c" -v n="$ROUNDS" '
            { rps[NR] = $1; mean[NR] = $2; p50[NR] = $3; p99[NR] = $4 }
            END { m = int((n + 1) / 2);
                  printf "%-9s %5d %7d %9.0f %7.0f %7.0f\n",
                         s, c, rps[m], mean[m], p50[m], p99[m] }' | tee -a "$table"
    done
done

grep -h '\[\(alert\|crit\|emerg\)\]' "$dir"/*.error.log && exit 1 || true

# ------------------------------------------------------------- report

report=$root/bench/results/redis-latest.md
mkdir -p "$root/bench/results"
perl -e '
    my ($table, $stamp, $duration, $rounds) = @ARGV;
    open my $fh, "<", $table or die "$table: $!\n";
    <$fh>;
    my %v;
    while (<$fh>) {
        my ($s, $c, $rps, $mean, $p50, $p99) = split;
        $v{$c}{$s} = [$rps, $mean, $p50, $p99];
    }
    print "# Benchmark: Redis (plain, TLS) vs shm store on the miss path (bench/redis-miss.sh)\n\n";
    printf "- date: %s; wrk -t1 -d%s, %s interleaved rounds per connection count, "
           . "the round with the median req/s (the lower for an even count)\n", $stamp, $duration, $rounds;
    print "- every request a cache miss (random Helicone-Cache-Seed): cache lookup, "
          . "rate-limit check, response stored, log written (file, buffered); "
          . "one nginx worker; helicone_auth off; backend: helicone_mock in the same nginx; "
          . "Redis (redis-server) on loopback; redis-tls: the same server'"'"'s TLS port "
          . "(rediss://, TLS 1.3, certificate verified)\n\n";
    print "| store | conns | req/s | ratio to shm | mean | p50 | p99 |\n";
    print "|---|---:|---:|---:|---:|---:|---:|\n";
    for my $c (sort { $b <=> $a } keys %v) {
        for my $s (qw(shm redis redis-tls)) {
            my $r = $v{$c}{$s} or next;
            printf "| %s | %d | %d | %.3f | %.0f us | %.0f us | %.0f us |\n",
                   $s, $c, $r->[0], $r->[0] / ($v{$c}{shm}[0] || 1),
                   $r->[1], $r->[2], $r->[3];
        }
    }
    if ($v{1} && $v{1}{shm} && $v{1}{redis}) {
        printf "\nAt one connection Redis adds %.0f us to a request (difference of the "
               . "mean latencies; %.0f us of the p50s: two round trips, MGET then the "
               . "rate-limit script).\n",
               $v{1}{redis}[1] - $v{1}{shm}[1], $v{1}{redis}[2] - $v{1}{shm}[2];
    }
    if ($v{1} && $v{1}{redis} && $v{1}{"redis-tls"}) {
        printf "TLS adds %.0f us more (difference of the means; %.0f us of the p50s; "
               . "redis-tls against redis, the same two round trips).\n",
               $v{1}{"redis-tls"}[1] - $v{1}{redis}[1],
               $v{1}{"redis-tls"}[2] - $v{1}{redis}[2];
    }
' "$table" "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" "$DURATION" "$ROUNDS" >"$report"
echo "redis-miss: wrote $report"

#!/usr/bin/perl

# Tests for helicone costs: helicone_costs replaces the price data, a
# reload picks up new prices, legacy tables price what the registry
# does not, Helicone-Model-Override does not pick the price, unknown is
# null; cost limits are charged by the model served, and an unknown price
# at the provider's dearest known one.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use HgTest;
use MockLLM;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;

my $openai = $t->mock_llm('openai');

# usage of the mock: 11 prompt (0 cached), 3 completion
sub prices {
    my ($in, $out) = @_;

    return <<"EOF";
{ "schema_version": 1, "aliases": {},
  "registry": [
    { "provider": "openai", "model": "gpt-4o-mini", "ids": ["gpt-4o-mini"],
      "tier_rule": "first", "usage_kind": "openai",
      "tiers": [ { "threshold": 0, "input": $in, "output": $out } ] } ],
  "legacy": [
    { "provider": "OPENAI", "rows": [
      { "match": "exact", "value": "exact-model", "input": 1, "output": 2 },
      { "match": "substring", "value": "sub", "input": 3, "output": 4 },
      { "match": "prefix", "value": "sub-prefix", "input": 5, "output": 6 }
    ] } ] }
EOF
}

$t->write_file('costs.json', prices(1, 10));

$t->write_config($t->conf_head . <<'EOF');
http {
    %%HTTP_HEAD%%
    helicone_provider openai url=http://127.0.0.1:%%PORT_openai%% auth=none;
    helicone_provider noprices url=http://127.0.0.1:%%PORT_openai%% auth=none;
    helicone_costs %%DIR%%/costs.json;
    helicone_auth off;
    helicone_store shm zone=limits:1m;
    helicone_log file path=%%DIR%%/helicone.jsonl;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;
        location /v1/ { helicone_pass gateway; }

        location /cents/v1/ {
            helicone_pass gateway;
            helicone_ratelimit "0.01;w=3600;u=cents;s=user";
        }
    }
}
EOF

$t->run;

my $n = 0;

sub cost_of {
    my ($model, @headers) = @_;

    my $r = $t->chat(port => $t->port('gw'), headers => \@headers,
                     json => { model => $model,
                               messages => [ { role => 'user',
                                               content => 'hi' } ] });
    my @ev = $t->wait_jsonl('helicone.jsonl', ++$n);
    my ($ev) = grep { $_->{id} eq ($r->{headers}{'helicone-id'} // '') } @ev;

    return $ev ? $ev->{log}{response}{cost} : 'no event';
}

# 11 x $1 + 3 x $10 per 1M = $0.000041
is(cost_of('gpt-4o-mini'), 0.000041, 'registry - price from helicone_costs');

# the registry has no "exact-model": the legacy OPENAI table prices it
# 11 x $1 + 3 x $2 per 1M = $0.000017
is(cost_of('exact-model/openai'), 0.000017, 'legacy - exact match');

# first match in table order: "sub" (substring) shadows the prefix row
# 11 x $3 + 3 x $4 per 1M = $0.000045
is(cost_of('sub-prefix-x/openai'), 0.000045,
   'legacy - rows tried in order, substring first');

is(cost_of('no-such-model/openai'), undef, 'unknown model - cost null');

# the override only renames: the model served is the one priced
is(cost_of('no-such-model/openai', [ 'Helicone-Model-Override',
                                     'exact-model' ]),
   undef, 'Helicone-Model-Override - does not price its model');
is(cost_of('gpt-4o-mini', [ 'Helicone-Model-Override', 'exact-model' ]),
   0.000041, 'Helicone-Model-Override - the served model is priced');

my @ev = $t->read_jsonl('helicone.jsonl');
is($ev[-1]{heliconeMeta}{modelOverride}, 'exact-model',
   'Helicone-Model-Override - logged');

# a cost limit of 0.01 cents: each request costs 0.0041 cents, so three
# pass (0.01, 0.0059, 0.0018 left) and the fourth is refused
sub limited_after {
    my ($model, @headers) = @_;

    my @st;
    for (1 .. 6) {
        my $r = $t->chat(port => $t->port('gw'), path => '/cents/v1/chat/completions',
                         headers => \@headers,
                         json => { model => $model,
                                   messages => [ { role => 'user',
                                                   content => 'hi' } ] });
        push @st, $r->{status};
        last if $r->{status} == 429;
        $t->wait_jsonl('helicone.jsonl', ++$n);
    }
    $t->wait_jsonl('helicone.jsonl', ++$n);

    return "@st";
}

is(limited_after('gpt-4o-mini', [ 'Helicone-User-Id', 'u1' ]),
   '200 200 200 429', 'cost limit - charged the served price');
is(limited_after('gpt-4o-mini', [ 'Helicone-User-Id', 'u2' ],
                 [ 'Helicone-Model-Override', 'no-such-model-zzz' ]),
   '200 200 200 429', 'cost limit - an unknown override changes nothing');
is(limited_after('gpt-4o-mini', [ 'Helicone-User-Id', 'u3' ],
                 [ 'Helicone-Model-Override', 'exact-model' ]),
   '200 200 200 429', 'cost limit - a cheap override changes nothing');

# no price for the model served: charged the provider's dearest known
# price (gpt-4o-mini here), never nothing
is(limited_after('no-such-model/openai', [ 'Helicone-User-Id', 'u4' ]),
   '200 200 200 429', 'cost limit - an unknown price is not free');
@ev = $t->read_jsonl('helicone.jsonl');
is($ev[-2]{log}{response}{cost}, undef,
   'cost limit - the unknown cost is still logged as null');

# a provider with no prices at all: the dearest price known, here the
# legacy row at $5/$6 (0.0073 cents a request): two pass
is(limited_after('any-model/noprices', [ 'Helicone-User-Id', 'u5' ]),
   '200 200 429', 'cost limit - a provider without prices: the dearest');

# new prices, picked up by a reload
$t->write_file('costs.json', prices(2, 20));
$t->reload(wait_old => 1);

# 11 x $2 + 3 x $20 per 1M = $0.000082
is(cost_of('gpt-4o-mini'), 0.000082, 'reload - new prices');

$t->stop;
$t->check_no_alerts;

done_testing;

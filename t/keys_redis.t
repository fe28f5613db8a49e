#!/usr/bin/perl

# Tests for Helicone keys in Redis (helicone_keys_redis): a key added or
# revoked in Redis takes effect without a reload, once the local verdict
# expires; the keys file still counts; while Redis is down, keys seen
# recently keep working (even after a flood of made-up keys filled the
# zone) and unseen ones get a 503.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha256_hex);
use Test::More;
use Time::HiRes qw(time);

use HgTest;
use HgRedis;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;
plan(skip_all => 'redis-server not installed') unless HgRedis->available;

sub key_hash { sha256_hex("Bearer $_[0]") }

my $redis = HgRedis->start($t);
my $port = $redis->port;

$t->mock_llm('openai');

my $FILE_KEY = 'sk-helicone-file-aaaaaaa-bbbbbbb-ccccccc-ddddddd';
my $NEW_KEY = 'sk-helicone-redis-aaaaaaa-bbbbbbb-ccccccc-ddddddd';
my $SEEN_KEY = 'sk-helicone-seen-aaaaaaa-bbbbbbb-ccccccc-ddddddd';

$t->write_file('keys', key_hash($FILE_KEY) . " org-file file-key\n");

$t->write_config($t->conf_head . <<"EOF2");
http {
    %%HTTP_HEAD%%
    helicone_provider openai url=http://127.0.0.1:%%PORT_openai%% auth=none;
    helicone_keys %%DIR%%/keys;
    helicone_store redis url=redis://127.0.0.1:$port timeout=2s
                   zone=kz:64k;
    helicone_keys_redis on valid=1s;
    helicone_log file path=%%DIR%%/helicone.jsonl;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;

        location /v1/ {
            helicone_pass gateway;
        }
    }
}
EOF2

$t->run;

my $gw = $t->port('gw');

sub call {
    my ($key) = @_;
    return $t->chat(port => $gw, headers => [ [ 'Authorization',
                                                "Bearer $key" ] ],
                    json => { model => 'gpt-4o-mini',
                              messages => [ { role => 'user',
                                              content => 'hi' } ] });
}

sub event_org {
    my ($id) = @_;
    my $ev;
    $t->wait_for(sub {
        ($ev) = grep { $_->{id} eq $id } $t->read_jsonl('helicone.jsonl');
        $ev;
    });
    return $ev ? $ev->{organizationId} : 'no event';
}

my $r = call($FILE_KEY);
is($r->{status}, 200, 'file key - accepted');

$r = call($NEW_KEY);
is($r->{status}, 401, 'unknown key - 401');

# added in Redis: accepted once the negative verdict (1s) has expired
$redis->cmd('SET', 'helicone:key:' . key_hash($NEW_KEY), 'org-redis ci key');

ok($t->wait_for(sub { call($NEW_KEY)->{status} == 200 }, timeout => 5,
                interval => 0.1),
   'added in redis - accepted without a reload');

$r = call($NEW_KEY);
is(event_org($r->{headers}{'helicone-id'}), 'org-redis',
   'added in redis - its org in the event');

# revoked: refused once the positive verdict has expired
$redis->cmd('DEL', 'helicone:key:' . key_hash($NEW_KEY));

ok($t->wait_for(sub { call($NEW_KEY)->{status} == 401 }, timeout => 5,
                interval => 0.1),
   'revoked in redis - refused without a reload');

# a malformed entry is no key
$redis->cmd('SET', 'helicone:key:' . key_hash('sk-bad'), '   ');
is(call('sk-bad')->{status}, 401, 'malformed entry - refused');

# Redis down: what was seen stays, what was not cannot be checked
$redis->cmd('SET', 'helicone:key:' . key_hash($SEEN_KEY), 'org-seen');
is(call($SEEN_KEY)->{status}, 200, 'seen key - accepted');

# a flood of made-up keys: their verdicts fill the zone many times over,
# and must not push out the known key's
my $refused = 0;
for my $i (1 .. 1500) {
    $refused++ if call("sk-helicone-flood-$i-" . int(rand(1e9)))->{status}
                  == 401;
}
is($refused, 1500, 'flood - made-up keys refused');

my $seen = time;

$redis->stop;

# the verdict must be stale (valid=1s) for Redis to be asked again
$t->wait_for(sub { time - $seen > 1.1 }, timeout => 3);

$r = call($SEEN_KEY);
is($r->{status}, 200, 'redis down - a key seen recently still works');
is(event_org($r->{headers}{'helicone-id'}), 'org-seen',
   'redis down - with its org');

$r = call('sk-helicone-never-seen');
is($r->{status}, 503, 'redis down - an unseen key: 503');
is($r->{json}{error}{code}, 'key_store_unavailable', 'redis down - why');
ok($r->{elapsed} < 1, 'redis down - answered at once');

is(call($FILE_KEY)->{status}, 200, 'redis down - file keys unaffected');

$redis->run;

ok($t->wait_for(sub { call('sk-helicone-never-seen')->{status} == 401 },
                timeout => 10, interval => 0.1),
   'redis back - unseen keys are checked again');

$t->stop;
$t->check_no_alerts;

done_testing;

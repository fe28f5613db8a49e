#!/usr/bin/perl

# Tests for docs/log-event.schema.json: real events (a plain and a
# streamed answer, a refused key, a provider that is down, omitted
# bodies) are valid against it, and every field they carry is described
# in it. The validator knows the keywords the schema uses and nothing
# more.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use B ();
use Digest::SHA qw(sha256_hex);
use JSON::PP;
use Test::More;

use HgTest;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;

my $schema = HgTest::json_decode(
    HgTest::_slurp($t->root . '/docs/log-event.schema.json')
    // die "docs/log-event.schema.json: $!\n");

my %KNOWN = map { $_ => 1 } qw($schema $id $defs $ref title description
    type const enum required properties additionalProperties items minimum
    pattern);

# errors of $v against $s, as "path: what" strings
sub validate {
    my ($s, $v, $path) = @_;
    my @err;

    for my $k (keys %$s) {
        push @err, "$path: schema keyword \"$k\" unknown to this test"
            unless $KNOWN{$k};
    }

    if (my $ref = $s->{'$ref'}) {
        my ($name) = $ref =~ m{^#/\$defs/(\w+)$}
            or return ("$path: unsupported \$ref $ref");
        push @err, validate($schema->{'$defs'}{$name}, $v, $path);
    }

    if (my $type = $s->{type}) {
        my @types = ref $type ? @$type : ($type);
        push @err, "$path: not " . join('|', @types)
            unless grep { is_type($_, $v) } @types;
    }

    if (exists $s->{const}) {
        push @err, "$path: not $s->{const}"
            unless defined $v && !ref $v && $v eq $s->{const};
    }

    if (my $enum = $s->{enum}) {
        push @err, "$path: \"" . ($v // 'null') . "\" not in the enum"
            unless defined $v && grep { $_ eq $v } @$enum;
    }

    if (defined $s->{minimum} && defined $v && !ref $v
        && $v =~ /^-?[0-9.eE+-]+$/)
    {
        push @err, "$path: $v < $s->{minimum}" if $v < $s->{minimum};
    }

    if (defined $s->{pattern} && defined $v && !ref $v) {
        push @err, "$path: \"$v\" does not match" if $v !~ /$s->{pattern}/;
    }

    if (ref $v eq 'HASH') {
        for my $r (@{ $s->{required} // [] }) {
            push @err, "$path.$r: required" unless exists $v->{$r};
        }

        for my $k (sort keys %$v) {
            if (my $p = $s->{properties}{$k}) {
                push @err, validate($p, $v->{$k}, "$path.$k");

            } elsif (ref $s->{additionalProperties} eq 'HASH') {
                push @err, validate($s->{additionalProperties}, $v->{$k},
                                    "$path.$k");
            }
        }
    }

    if (ref $v eq 'ARRAY' && $s->{items}) {
        push @err, validate($s->{items}, $v->[$_], "$path\[$_\]")
            for 0 .. $#$v;
    }

    return @err;
}

sub is_type {
    my ($type, $v) = @_;

    return !defined $v if $type eq 'null';
    return 0 unless defined $v;
    return JSON::PP::is_bool($v) if $type eq 'boolean';
    return ref $v eq 'HASH' if $type eq 'object';
    return ref $v eq 'ARRAY' if $type eq 'array';
    return 0 if ref $v;

    # JSON::PP keeps whether a scalar came as a number
    my $num = B::svref_2object(\$v)->FLAGS & (B::SVp_IOK() | B::SVp_NOK());

    return !$num if $type eq 'string';
    return $num && $v =~ /^-?\d+$/ if $type eq 'integer';
    return $num if $type eq 'number';
    return 0;
}

# the fields of $v the schema does not name
sub unknown {
    my ($s, $v, $path) = @_;

    if (my $ref = $s->{'$ref'}) {
        my ($name) = $ref =~ m{^#/\$defs/(\w+)$};
        $s = $schema->{'$defs'}{$name};
    }

    my @u;

    if (ref $v eq 'HASH' && $s->{properties}) {
        for my $k (sort keys %$v) {
            if (my $p = $s->{properties}{$k}) {
                push @u, unknown($p, $v->{$k}, "$path.$k");
            } elsif (!$s->{additionalProperties}) {
                push @u, "$path.$k";
            }
        }
    }

    if (ref $v eq 'ARRAY' && $s->{items}) {
        push @u, unknown($s->{items}, $_, "$path\[]") for @$v;
    }

    return @u;
}

# ------------------------------------------------------------- events

my $key = 'sk-helicone-schema-test';
$t->write_file('keys', sha256_hex("Bearer $key") . " org-schema tests\n");

$t->write_config($t->conf_head . <<'EOF');
http {
    %%HTTP_HEAD%%
    helicone_provider openai url=http://127.0.0.1:%%PORT_mock%% auth=none;
    helicone_provider down url=http://127.0.0.1:%%PORT_down%% api=openai
                      auth=none;
    helicone_keys %%DIR%%/keys;
    helicone_auth optional;
    helicone_log file path=%%DIR%%/helicone.jsonl;

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        include %%ATTEMPT_CONF%%;

        location /v1/ { helicone_pass gateway; }
        location /auth/ { helicone_pass gateway; helicone_auth required; }
    }

    server {
        listen 127.0.0.1:%%PORT_mock%%;
        location / { helicone_mock; }
    }
}
EOF

$t->run;

my $gw = $t->port('gw');
my @calls = (
    [ 'plain', {}, [ [ 'Authorization', "Bearer $key" ],
                     [ 'Helicone-User-Id', 'alice' ],
                     [ 'Helicone-Property-App', 'schema' ] ] ],
    [ 'stream', { stream => JSON::PP::true }, [] ],
    [ 'no key', {}, [], '/auth/v1/chat/completions' ],
    [ 'provider down', { model => 'gpt-4o-mini/down' }, [] ],
    [ 'omitted bodies', {}, [ [ 'Helicone-Omit-Request', 'true' ],
                              [ 'Helicone-Omit-Response', 'true' ] ] ],
);

my %id;

for my $c (@calls) {
    my ($name, $extra, $headers, $path) = @$c;
    my $r = $t->chat(port => $gw, path => $path // '/v1/chat/completions',
                     json => { model => 'gpt-4o-mini',
                               messages => [ { role => 'user',
                                               content => 'hi' } ],
                               %$extra },
                     headers => $headers);
    $id{ $r->{headers}{'helicone-id'} // "none-$name" } = $name;
}

my @events = $t->wait_jsonl('helicone.jsonl', scalar @calls);
is(scalar @events, scalar @calls, 'schema - one event per request');

for my $ev (@events) {
    my $name = $id{ $ev->{id} // '' } // 'unknown';
    my @err = validate($schema, $ev, 'event');

    ok(!@err, "schema - $name event is valid") or diag(join "\n", @err);

    my @u = unknown($schema, $ev, 'event');
    ok(!@u, "schema - $name event has no field the schema lacks")
        or diag(join "\n", @u);
}

my ($bad) = validate($schema, { %{ $events[0] }, schema_version => 2 },
                     'event');
ok($bad, 'schema - the validator notices a wrong value');

$t->stop;
$t->check_no_alerts;

done_testing;

#!/usr/bin/perl

# Tests for the helicone response cache in shared memory: Helicone's
# headers, the key (seed, ignored keys, body), buckets, TTL, streams
# replayed, only complete 200s stored, hits logged with what they saved.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use JSON::PP;
use Test::More;

use HgTest;
use HgCacheTests;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;

HgCacheTests::run($t, '');

$t->stop;
$t->check_no_alerts;

done_testing;

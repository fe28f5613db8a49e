#!/usr/bin/perl

# Runs the default OpenAI-compatible mock provider in the foreground:
#     perl t/bin/mock-llm.pl --port 9000 [--host 127.0.0.1]
#         [--log requests.jsonl] [--stream-delay-ms 50]

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Getopt::Long;
use IO::Socket::INET;
use MockLLM;

my %o = (port => 9000, host => '127.0.0.1');

GetOptions(\%o, 'port=i', 'host=s', 'log=s', 'stream-delay-ms=i', 'help')
    or die "usage: $0 --port N [--host H] [--log FILE] "
           . "[--stream-delay-ms N]\n";

if ($o{help}) {
    print "usage: $0 --port N [--host H] [--log FILE] [--stream-delay-ms N]\n";
    exit 0;
}

my $listen = IO::Socket::INET->new(
    LocalAddr => $o{host},
    LocalPort => $o{port},
    Proto     => 'tcp',
    Listen    => 1024,
    ReuseAddr => 1,
) or die "cannot listen on $o{host}:$o{port}: $!\n";

print STDERR "mock-llm listening on http://$o{host}:$o{port}\n";

MockLLM::serve(
    listener        => $listen,
    log             => $o{log},
    stream_delay_ms => $o{'stream-delay-ms'},
    name            => "$o{host}:$o{port}",
);

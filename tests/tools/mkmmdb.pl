#!/usr/bin/perl
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# mkmmdb.pl DIR - write two tiny MaxMind DB files for the tests: DIR/city.mmdb
# (GeoLite2-City layout) and DIR/asn.mmdb (GeoLite2-ASN layout). Only private
# and documentation ranges; 10.201.2.0/24 is the integration tests' "attacker"
# netns network. Needs Debian's libmaxmind-db-writer-perl.
#
# Writer quirks that matter here:
#  - remove_reserved_networks defaults to true and then *silently* drops every
#    insert into 10/8, 192.0.2/24, 2001:db8::/32, ...: turn it off.
#  - an IPv4 network given in dotted notation goes to ::/96, where
#    libmaxminddb looks IPv4 up in an IPv6 tree; alias_ipv6_to_ipv4 also
#    answers ::ffff:a.b.c.d, 6to4 and Teredo from it, as GeoLite2 does.
#  - every map key needs a type from map_key_type_callback, nested ones too
#    (names => map, en => utf8_string); an unknown key dies at write time.
use strict;
use warnings;

use MaxMind::DB::Writer::Tree;

my $dir = shift @ARGV or die "usage: $0 DIR\n";
-d $dir or die "$0: $dir is not a directory\n";

my %types = (
	country                        => 'map',
	city                           => 'map',
	names                          => 'map',
	iso_code                       => 'utf8_string',
	en                             => 'utf8_string',
	autonomous_system_number       => 'uint32',
	autonomous_system_organization => 'utf8_string',
);

sub tree {
	my ($type) = @_;
	return MaxMind::DB::Writer::Tree->new(
		ip_version               => 6,
		record_size              => 24,
		database_type            => $type,
		languages                => ['en'],
		description              => { en => "exfilter test $type" },
		remove_reserved_networks => 0,
		alias_ipv6_to_ipv4       => 1,
		map_key_type_callback    => sub { $types{ $_[0] } or die "no type for key $_[0]\n" },
	);
}

sub country {
	my ($iso, $name) = @_;
	return { iso_code => $iso, names => { en => $name } };
}

sub write_db {
	my ($tree, $name) = @_;
	my $path = "$dir/$name";
	open my $fh, '>:raw', $path or die "$0: cannot write $path: $!\n";
	$tree->write_tree($fh);
	close $fh or die "$0: cannot write $path: $!\n";
}

my $city = tree('GeoLite2-City');
$city->insert_network('10.201.2.0/24',
	{ country => country('NL', 'Netherlands'), city => { names => { en => 'Amsterdam' } } });
# the integration tests' resolver network: a client's DNS server
$city->insert_network('10.201.1.0/24',
	{ country => country('IS', 'Iceland'), city => { names => { en => 'Reykjavik' } } });
$city->insert_network('192.0.2.0/24', { country => country('US', 'United States') });
$city->insert_network('2001:db8::/32', { country => country('DE', 'Germany') });
# Hostile strings: longer than every xf_geo field, quotes and control bytes,
# and a multi-byte character across the as_org cut.
$city->insert_network('203.0.113.0/24', {
	country => country('XXXXXXXX', 'A' x 100),
	city    => { names => { en => "\"quoted\"\n\\" . ('c' x 200) } },
});
write_db($city, 'city.mmdb');

my $asn = tree('GeoLite2-ASN');
$asn->insert_network('10.201.2.0/24',
	{ autonomous_system_number => 64500, autonomous_system_organization => 'Example Exfil Hosting' });
$asn->insert_network('10.201.1.0/24',
	{ autonomous_system_number => 64502, autonomous_system_organization => 'Example Resolver Net' });
$asn->insert_network('2001:db8::/32', { autonomous_system_number => 64501 });
$asn->insert_network('203.0.113.0/24', {
	autonomous_system_number       => 4294967295,
	autonomous_system_organization => ('o' x 126) . "\x{e9}" . ('o' x 100),
});
write_db($asn, 'asn.mmdb');

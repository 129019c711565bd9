<?php
/**
 * OaiMirrorTrigger: POSTs to oai-mirror's trigger endpoint when a page
 * changes, so that a daemon syncs or mirrors at once instead of polling.
 *
 * Triggers go out as a post-send deferred update: after the edit is saved
 * and its answer sent, once per request however many pages it changed. A
 * daemon that is slow or down costs at most $wgOaiMirrorTimeout seconds of
 * that background work, never the edit itself; a failure is only logged
 * (debug log group "OaiMirrorTrigger"), since the daemon's next scheduled
 * run finds the change anyway.
 */

use MediaWiki\MediaWikiServices;

class OaiMirrorTrigger {
	/** @var bool Whether this request has its triggers scheduled already. */
	private static $scheduled = false;

	/**
	 * For PageSaveComplete, PageMoveComplete, ArticleDeleteComplete and
	 * ArticleUndelete alike: which page changed does not matter, the
	 * daemon's job reads the wiki's changes itself.
	 */
	public static function onPageChange() {
		if ( self::$scheduled ) {
			return true;
		}
		self::$scheduled = true;
		DeferredUpdates::addCallableUpdate( [ self::class, 'send' ], DeferredUpdates::POSTSEND );
		return true;
	}

	/** Sends every configured trigger. */
	public static function send() {
		$services = MediaWikiServices::getInstance();
		$config = $services->getMainConfig();
		$urls = (array)$config->get( 'OaiMirrorTriggers' );
		if ( !$urls ) {
			return;
		}
		$token = null;
		$tokenFile = $config->get( 'OaiMirrorTokenFile' );
		if ( $tokenFile !== null ) {
			$read = @file_get_contents( $tokenFile );
			if ( $read === false ) {
				wfDebugLog( 'OaiMirrorTrigger', "cannot read the token file $tokenFile; triggers not sent" );
				return;
			}
			$token = trim( $read );
		}
		$timeout = (float)$config->get( 'OaiMirrorTimeout' );
		$factory = $services->getHttpRequestFactory();
		foreach ( $urls as $url ) {
			$request = $factory->create( $url, [
				'method' => 'POST',
				'postData' => '',
				'timeout' => $timeout,
				'connectTimeout' => min( $timeout, 1 ),
			], __METHOD__ );
			if ( $token !== null ) {
				$request->setHeader( 'Authorization', "Bearer $token" );
			}
			$status = $request->execute();
			if ( !$status->isOK() ) {
				wfDebugLog( 'OaiMirrorTrigger', "$url: HTTP {$request->getStatus()}; the daemon's next scheduled run will find the change" );
			}
		}
	}
}
